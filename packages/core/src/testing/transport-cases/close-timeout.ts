import assert from 'node:assert/strict';
import { eventually, gate, parcel, type TransportCase } from './harness.ts';

/** The other half of close: work that outlives the timeout goes back to the group, not into limbo. */
export const closeTimeout: TransportCase = {
  name: 'releases to the group what is still unsettled when close times out',
  async run(t) {
    const stuck = gate();
    const held: string[] = [];
    const consumer = await t.consume({ group: 'releasers', concurrency: 2 }, async (delivery) => {
      held.push(delivery.message.id);
      await stuck.opened;
      await delivery.ack();
    });
    const sent = [parcel(1), parcel(2)];
    await t.publish(...sent);
    await eventually(() => held.length === 2, { what: 'two deliveries in flight' });

    const timeoutMs = t.time.pick(5_000, 200);
    const closing = consumer.close({ timeoutMs });
    await t.time.advance(timeoutMs);
    await closing;

    const attempts = new Map<string, number>();
    await t.consume({ group: 'releasers', concurrency: 2 }, async (delivery) => {
      attempts.set(delivery.message.id, delivery.attempt);
      await delivery.ack();
    });
    await eventually(() => attempts.size === 2, { what: () => `${attempts.size} of 2 released messages` });
    // The stuck handlers finally finish: their acks come too late to matter.
    stuck.open();
    await t.time.idle();
    for (const message of sent)
      assert.equal(attempts.get(message.id), 2, `attempt of ${message.id} after release`);
  },
};
