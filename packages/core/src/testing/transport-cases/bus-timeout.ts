import assert from 'node:assert/strict';
import type { DeadLetter } from '../../dead-letters.ts';
import { eventually, ParcelScanned, type TransportCase } from './harness.ts';

/** A handler that never returns is cut off, its signal aborted, and the consumer moves on. */
export const busTimeout: TransportCase = {
  name: 'bus: times out a handler that never returns, and keeps consuming',
  async run(t) {
    const timeoutMs = t.time.pick(5_000, 200);
    const bus = t.bus({ retry: false });
    const group = t.unique('stuck');
    const handled: number[] = [];
    let abortReason: unknown;
    await bus.subscribe({
      group,
      events: [ParcelScanned],
      timeoutMs,
      concurrency: 1,
      handler: async (event, ctx) => {
        if (event.data.n === 1) {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
          abortReason = ctx.signal.reason;
          return;
        }
        handled.push(event.data.n);
      },
    });
    await bus.publish([ParcelScanned.create({ n: 1 }), ParcelScanned.create({ n: 2 })]);
    await t.time.until(async () => (await bus.deadLetters.list({ group })).length === 1, {
      stepMs: Math.ceil(timeoutMs / 10),
      what: 'the timed-out dead letter',
    });
    const [deadLetter] = (await bus.deadLetters.list({ group })) as [DeadLetter];
    assert.equal(deadLetter.error.code, 'TIDINGS_TIMEOUT');
    assert.deepEqual(deadLetter.event?.data, { n: 1 });
    await eventually(() => handled.length === 1, { what: 'the next event after the timeout' });
    assert.deepEqual(handled, [2]);
    assert.ok(abortReason !== undefined, "the handler's signal was not aborted");
  },
};
