import assert from 'node:assert/strict';
import { eventually, parcel, type TransportCase } from './harness.ts';

const TOTAL = 6;

/** The anchors' C22 (BullMQ's stalled jobs): a consumer killed mid-handler loses nothing. */
export const crashRedelivery: TransportCase = {
  name: 'redelivers what a consumer killed with SIGKILL was handling',
  skipReason: (_capabilities, features) => (features.spawnConsumer ? undefined : 'needs spawnConsumer'),
  async run(t) {
    if (t.spawnConsumer === undefined) throw new Error('this case needs spawnConsumer');
    const group = 'crashers';
    const topics = ['ParcelScanned'];
    const leaseMs = t.time.pick(30_000, 1_000);
    // The child's consume is not seen by the ledger: declare the group so its messages are expected.
    t.ledger.expectGroup(t.channel, group, topics);
    const child = await t.spawnConsumer({ channel: t.channel, group, topics, concurrency: 2, leaseMs });
    const sent = Array.from({ length: TOTAL }, (_, n) => parcel(n));
    await t.publish(...sent);
    const held = await child.holding(1);
    await child.kill();

    const attempts = new Map<string, number>();
    await t.consume({ group, topics, leaseMs, concurrency: 4 }, async (delivery) => {
      attempts.set(delivery.message.id, delivery.attempt);
      await delivery.ack();
    });
    await t.time.advance(leaseMs + 1);
    await eventually(() => sent.every((m) => attempts.has(m.id)), {
      what: () => `${attempts.size} of ${TOTAL} after the crash`,
      timeoutMs: leaseMs + 20_000,
    });
    if (t.capabilities.deliveryCounter) {
      for (const id of held)
        assert.ok((attempts.get(id) ?? 0) >= 2, `${id} was redelivered as a first attempt`);
    }
  },
};
