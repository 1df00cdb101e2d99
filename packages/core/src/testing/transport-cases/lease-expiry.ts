import assert from 'node:assert/strict';
import type { Delivery } from '../../transport.ts';
import { eventually, gate, parcel, type TransportCase } from './harness.ts';

/** The anchors' C21 (BullMQ's "missing lock"): a lost lease gives one redelivery; the stale ack changes nothing. */
export const leaseExpiry: TransportCase = {
  name: 'redelivers once when a slow handler loses its lease, and ignores its late ack',
  skipReason: (capabilities) => (capabilities.leases ? undefined : 'transport declares no leases'),
  async run(t) {
    const leaseMs = t.time.pick(30_000, 400);
    const deliveries: Delivery[] = [];
    const slow = gate();
    await t.consume({ group: 'slow', leaseMs, concurrency: 2 }, async (delivery) => {
      deliveries.push(delivery);
      if (deliveries.length === 1) await slow.opened;
    });
    await t.publish(parcel(1));
    await eventually(() => deliveries.length === 1, { what: 'the first delivery' });
    await t.time.advance(leaseMs + 1);
    await eventually(() => deliveries.length === 2, { what: 'the redelivery after the lease ran out' });
    const [stale, current] = deliveries as [Delivery, Delivery];
    assert.equal(current.attempt, 2);

    // The slow handler finally finishes and acks: too late, the message is no longer its own.
    slow.open();
    await stale.ack();
    await t.time.idle();
    assert.equal(deliveries.length, 2, 'the lost lease caused more than one redelivery');
    // Were the stale ack taken, this nack would find nothing to redeliver.
    await current.nack();
    await eventually(() => deliveries.length === 3, {
      what: 'a redelivery after nacking the current delivery',
    });
    const last = deliveries[2] as Delivery;
    assert.equal(last.attempt, 3);
    await last.ack();
    await t.time.advance(leaseMs * 2 + 1);
    await t.time.idle();
    assert.equal(deliveries.length, 3, 'delivered again after the ack');
  },
};
