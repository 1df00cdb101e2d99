import assert from 'node:assert/strict';
import { eventually, parcel, type TransportCase } from './harness.ts';

/** An ack is final: not even a lease running out brings the message back. */
export const noRedeliveryAfterAck: TransportCase = {
  name: 'does not redeliver an acked message',
  async run(t) {
    const leaseMs = t.time.pick(30_000, 300);
    const counts = new Map<string, number>();
    await t.consume({ group: 'once', leaseMs }, async (delivery) => {
      counts.set(delivery.message.id, (counts.get(delivery.message.id) ?? 0) + 1);
      await delivery.ack();
    });
    const first = parcel(1);
    await t.publish(first);
    await eventually(() => counts.has(first.id), { what: 'the first delivery' });
    // Past two leases: an ack the transport forgot would show up as a redelivery now.
    await t.time.advance(leaseMs * 2 + 1);
    const marker = parcel(2);
    await t.publish(marker);
    await eventually(() => counts.has(marker.id), { what: 'the marker message' });
    await t.time.idle();
    assert.equal(counts.get(first.id), 1, 'the acked message came back');
  },
};
