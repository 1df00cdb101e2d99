import { describe, expect, it } from 'vitest';
import { TidingsError } from '../errors.ts';
import { memoryTransport } from '../memory-transport.ts';
import type { Transport } from '../transport.ts';
import { runOutageCase } from './outage.ts';

type Down = 'typed' | 'untyped' | 'hang' | 'lose';

/** The memory transport behind a switch: while down, publishes fail (or hang, or are lost) as told. */
function switchable(down: Down): { transport: Transport; set: (on: boolean) => void } {
  const inner = memoryTransport();
  let isDown = false;
  const transport: Transport = {
    name: inner.name,
    capabilities: inner.capabilities,
    deadLetters: inner.deadLetters,
    consume: (options, handler) => inner.consume(options, handler),
    close: () => inner.close(),
    async publish(channel, messages) {
      if (!isDown) return inner.publish(channel, messages);
      if (down === 'typed') throw new TidingsError('TIDINGS_UNAVAILABLE', 'the broker is away');
      if (down === 'untyped') throw new Error('socket closed');
      if (down === 'lose') return undefined;
      return new Promise<void>(() => undefined);
    },
  };
  return { transport, set: (on) => (isDown = on) };
}

describe('runOutageCase', () => {
  it('passes a transport that fails fast with a typed error and delivers every confirmed publish', async () => {
    const { transport, set } = switchable('typed');
    const report = await runOutageCase({
      transport,
      interrupt: () => set(true),
      resume: () => set(false),
      messages: 30,
    });
    expect(report.confirmed).toBe(30);
    expect(report.failedPublishes).toBe(3);
    expect(report.problems).toEqual([]);
  });

  it('fails a transport whose publish fails with an untyped error', async () => {
    const { transport, set } = switchable('untyped');
    await expect(
      runOutageCase({ transport, interrupt: () => set(true), resume: () => set(false), messages: 9 }),
    ).rejects.toThrow(/expected a TidingsError with code TIDINGS_UNAVAILABLE/);
  });

  it('fails a transport whose publish hangs while the broker is away', async () => {
    const { transport, set } = switchable('hang');
    await expect(
      runOutageCase({
        transport,
        interrupt: () => set(true),
        resume: () => set(false),
        messages: 9,
        failFastMs: 50,
      }),
    ).rejects.toThrow(/neither failed nor succeeded within 1050 ms/);
  });

  it('fails a transport that confirms publishes it then loses', async () => {
    const { transport, set } = switchable('lose');
    await expect(
      runOutageCase({ transport, interrupt: () => set(true), resume: () => set(false), messages: 9 }),
    ).rejects.toThrow(/publishes were confirmed while the broker was away/);
  });
});
