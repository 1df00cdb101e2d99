import assert from 'node:assert/strict';
import type { Delivery } from '../../transport.ts';
import { bytes, eventually, parcel, type TransportCase } from './harness.ts';

/** Watermill's TestResendOnError, with the attempt counter NServiceBus checks. */
export const redeliveryAfterNack: TransportCase = {
  name: 'redelivers after nack with attempt = 2',
  async run(t) {
    const sent = Array.from({ length: 10 }, (_, n) => parcel(n));
    const failing = new Set([sent[0]?.id, sent[1]?.id]);
    const seen = new Map<string, Delivery[]>();
    const acked = new Set<string>();
    let failedAt = 0;
    await t.consume({ group: 'retriers' }, async (delivery) => {
      const list = seen.get(delivery.message.id) ?? [];
      list.push(delivery);
      seen.set(delivery.message.id, list);
      if (failing.has(delivery.message.id) && list.length === 1) {
        failedAt = t.time.now();
        await delivery.nack({ tries: 1, failedAt });
        return;
      }
      await delivery.ack();
      acked.add(delivery.message.id);
    });
    await t.publish(...sent);
    await eventually(() => acked.size === sent.length, { what: () => `${acked.size} of 10 acked` });

    for (const message of sent) {
      const list = seen.get(message.id) ?? [];
      if (!failing.has(message.id)) {
        assert.deepEqual(
          list.map((d) => d.attempt),
          [1],
          `${message.id} was not nacked: one delivery`,
        );
        continue;
      }
      assert.deepEqual(
        list.map((d) => d.attempt),
        [1, 2],
        `${message.id}: attempts`,
      );
      const again = list[1] as Delivery;
      assert.equal(again.previousTries, 1);
      assert.equal(typeof again.firstFailedAt, 'number');
      assert.deepEqual(bytes(again.message), bytes(message));
      assert.equal(again.message.key, message.key);
    }
  },
};
