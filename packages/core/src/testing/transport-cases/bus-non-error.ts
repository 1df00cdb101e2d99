import assert from 'node:assert/strict';
import type { DeadLetter } from '../../dead-letters.ts';
import { ParcelScanned, type TransportCase } from './harness.ts';

/** `throw 'oops'` and `throw { code: 42 }` happen; they must not crash the consumer or lose the message. */
export const busNonError: TransportCase = {
  name: 'bus: dead-letters a handler that throws a non-Error, and keeps consuming',
  async run(t) {
    const bus = t.bus({ retry: { immediate: 1, minDelayMs: 5, maxDelayMs: 5, delays: [], jitter: 0 } });
    const group = t.unique('sloppy');
    const handled: number[] = [];
    await bus.subscribe({
      group,
      events: [ParcelScanned],
      handler: (event) => {
        // Throwing what is not an Error is the point of this case.
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        if (event.data.n === 1) throw 'a plain string';
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        if (event.data.n === 2) throw { code: 42 };
        handled.push(event.data.n);
      },
    });
    await bus.publish([1, 2, 3].map((n) => ParcelScanned.create({ n })));
    const deadLetters = (): Promise<readonly DeadLetter[]> => bus.deadLetters.list({ group });
    await t.time.until(async () => (await deadLetters()).length === 2 && handled.length === 1, {
      stepMs: 5,
      what: 'two dead letters and one handled event',
    });
    assert.deepEqual(handled, [3]);
    const found = await deadLetters();
    for (const deadLetter of found) {
      assert.equal(deadLetter.reason, 'exhausted');
      assert.equal(deadLetter.attempts, 2, 'a non-Error is retried like any failure');
      assert.match(deadLetter.error.name, /\S/);
    }
    const messages = found.map((d) => d.error.message).join('\n');
    assert.match(messages, /a plain string/);
    assert.match(messages, /"code":\s*42/);
  },
};
