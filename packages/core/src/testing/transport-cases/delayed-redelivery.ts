import assert from 'node:assert/strict';
import { eventually, parcel, type TransportCase } from './harness.ts';

/** The anchors' C20: a delayed retry comes back neither early nor much later. */
export const delayedRedelivery: TransportCase = {
  name: 'redelivers a delayed nack not before its delay, and soon after',
  skipReason: (capabilities) =>
    capabilities.delayedDelivery ? undefined : 'transport declares no delayed delivery',
  async run(t) {
    const delayMs = t.time.pick(5_000, 300);
    const times: number[] = [];
    await t.consume({ group: 'patient' }, async (delivery) => {
      times.push(t.time.now());
      if (delivery.attempt === 1) await delivery.nack({ delayMs });
      else await delivery.ack();
    });
    await t.publish(parcel(1));
    await eventually(() => times.length === 1, { what: 'the first delivery' });

    if (t.time.manual) {
      await t.time.advance(delayMs - 1);
      assert.equal(times.length, 1, 'redelivered before the delay was over');
      await t.time.advance(1);
      await eventually(() => times.length === 2, { what: 'the redelivery once the delay was over' });
    } else {
      await eventually(() => times.length === 2, {
        what: 'the delayed redelivery',
        timeoutMs: delayMs + 10_000,
      });
      // Timers and brokers round to the millisecond (or coarser, upward): allow a little below.
      const waited = (times[1] ?? 0) - (times[0] ?? 0);
      assert.ok(waited >= delayMs - 10, `redelivered after ${waited} ms, before the ${delayMs} ms delay`);
    }
  },
};
