import assert from 'node:assert/strict';
import type { Delivery } from '../../transport.ts';
import { bytes, eventually, parcel, type TransportCase } from './harness.ts';

/** Watermill's TestPublishSubscribe: everything arrives, intact, once. */
export const publishConsume: TransportCase = {
  name: 'delivers every published message with its topic, key, headers and body',
  async run(t) {
    const received = new Map<string, Delivery>();
    await t.consume({ group: 'readers', concurrency: 4 }, async (delivery) => {
      received.set(delivery.message.id, delivery);
      await delivery.ack();
    });
    const sent = Array.from({ length: 100 }, (_, n) => parcel(n, { subject: `parcel-${n % 7}` }));
    // Half in one batch, half one by one: both paths of publish.
    await t.publish(...sent.slice(0, 50));
    for (const message of sent.slice(50)) await t.publish(message);
    await eventually(() => received.size === sent.length, { what: () => `${received.size} of 100 messages` });

    for (const message of sent) {
      const delivery = received.get(message.id);
      assert.ok(delivery, `${message.id} was not delivered`);
      assert.equal(delivery.group, 'readers');
      assert.equal(delivery.attempt, 1);
      assert.equal(delivery.previousTries, 0);
      assert.equal(delivery.firstFailedAt, undefined);
      assert.equal(delivery.message.topic, message.topic);
      assert.equal(delivery.message.key, message.key);
      for (const [name, value] of Object.entries(message.headers)) {
        assert.equal(delivery.message.headers[name], value, `header ${name} of ${message.id}`);
      }
      assert.deepEqual(bytes(delivery.message), bytes(message));
    }
  },
};
