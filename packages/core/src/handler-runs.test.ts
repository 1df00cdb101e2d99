import { describe, expect, it } from 'vitest';
import { handlerRuns } from './handler-runs.ts';
import type { Delivery } from './transport.ts';

const delivery = (nacked: string[], id: string, nack?: () => Promise<void>): Delivery =>
  ({
    message: { id, topic: 't', headers: {}, body: new Uint8Array() },
    nack:
      nack ??
      (() => {
        nacked.push(id);
        return Promise.resolve();
      }),
  }) as unknown as Delivery;

describe('handlerRuns', () => {
  it('counts running handlers and resolves idle() when the last one ends', async () => {
    const finish: (() => void)[] = [];
    const runs = handlerRuns(
      () => new Promise<void>((resolve) => finish.push(resolve)),
      () => undefined,
    );
    await runs.idle();
    runs.start(delivery([], 'a'), 'a');
    runs.start(delivery([], 'b'), 'b');
    expect(runs.running()).toBe(2);
    let idle = false;
    const waiting = runs.idle().then(() => {
      idle = true;
    });
    finish[0]?.();
    await Promise.resolve();
    await Promise.resolve();
    expect(idle).toBe(false);
    finish[1]?.();
    await waiting;
    expect(runs.running()).toBe(0);
  });

  it('reports a handler that throws and nacks its delivery; a failing nack is reported too', async () => {
    const reports: [string, string][] = [];
    const nacked: string[] = [];
    const runs = handlerRuns(
      () => Promise.reject(new Error('boom')),
      (_error, where, messageId) => reports.push([where, messageId]),
    );
    runs.start(delivery(nacked, 'a'), 'a');
    runs.start(
      delivery(nacked, 'b', () => Promise.reject(new Error('gone'))),
      'b',
    );
    await runs.idle();
    expect(nacked).toEqual(['a']);
    expect(reports).toEqual([
      ['handler', 'a'],
      ['handler', 'b'],
      ['settle', 'b'],
    ]);
  });
});
