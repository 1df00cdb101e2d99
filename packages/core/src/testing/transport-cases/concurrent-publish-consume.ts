import assert from 'node:assert/strict';
import { eventually, parcel, type TransportCase } from './harness.ts';

const PUBLISHERS = 10;
const EACH = 20;

/** Watermill's TestConcurrentSubscribe and TestPublisherClose: no loss when many publish and many take. */
export const concurrentPublishConsume: TransportCase = {
  name: 'loses nothing with concurrent publishers and competing subscribers',
  async run(t) {
    const received = new Set<string>();
    // Without consumer groups, several members of one group are not a defined thing: use one.
    const members = t.capabilities.consumerGroups ? 5 : 1;
    for (let member = 0; member < members; member += 1) {
      await t.consume({ group: 'workers', concurrency: 4 }, async (delivery) => {
        received.add(delivery.message.id);
        await delivery.ack();
      });
    }
    const sent = Array.from({ length: PUBLISHERS }, (_, p) =>
      Array.from({ length: EACH }, (_, i) => parcel(p * EACH + i, { subject: `publisher-${p}` })),
    );
    await Promise.all(
      sent.map(async (messages) => {
        for (const message of messages) await t.publish(message);
      }),
    );
    const all = sent.flat();
    await eventually(() => all.every((m) => received.has(m.id)), {
      what: () => `${received.size} of ${all.length} messages`,
    });
    assert.equal(received.size, all.length);
  },
};
