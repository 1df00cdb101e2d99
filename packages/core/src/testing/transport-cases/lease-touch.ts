import assert from 'node:assert/strict';
import type { Delivery } from '../../transport.ts';
import { eventually, parcel, type TransportCase } from './harness.ts';

/** A long handler that keeps touching its delivery keeps it; once it stops, the lease runs out as usual. */
export const leaseTouch: TransportCase = {
  name: 'keeps the lease of a handler that touches it',
  skipReason: (capabilities) => (capabilities.leases ? undefined : 'transport declares no leases'),
  async run(t) {
    const leaseMs = t.time.pick(30_000, 600);
    const deliveries: Delivery[] = [];
    // The handler returns at once and settles later: the lease, not the handler, holds the delivery.
    await t.consume({ group: 'toucher', leaseMs, concurrency: 2 }, (delivery) => {
      deliveries.push(delivery);
      return Promise.resolve();
    });
    await t.publish(parcel(1));
    await eventually(() => deliveries.length === 1, { what: 'the first delivery' });
    const [delivery] = deliveries as [Delivery];
    // Three touches, each before the lease runs out, together span almost twice the lease.
    for (let i = 0; i < 3; i += 1) {
      await t.time.advance(Math.floor(leaseMs * 0.6));
      await delivery.touch();
    }
    await t.time.idle();
    assert.equal(deliveries.length, 1, 'redelivered although the handler touched its lease');

    await t.time.advance(leaseMs + 1);
    await eventually(() => deliveries.length === 2, { what: 'the redelivery once the touches stopped' });
    const current = deliveries[1] as Delivery;
    assert.equal(current.attempt, 2);
    // A touch from the holder that lost the lease must not take it back.
    await delivery.touch();
    await current.ack();
    await t.time.advance(leaseMs * 2);
    await t.time.idle();
    assert.equal(deliveries.length, 2, 'delivered again after the ack');
  },
};
