import assert from 'node:assert/strict';
import type { Delivery } from '../../transport.ts';
import { eventually, gate, parcel, type TransportCase } from './harness.ts';

/** The anchors' C17: retry budgets depend on a counter that every kind of failure moves. */
export const attemptCounter: TransportCase = {
  name: 'counts attempts across nack and lease expiry',
  skipReason: (capabilities) => (capabilities.leases ? undefined : 'transport declares no leases'),
  async run(t) {
    const leaseMs = t.time.pick(30_000, 400);
    const deliveries: Delivery[] = [];
    const stuck = gate();
    const failedAt = t.time.now() - 5;
    await t.consume({ group: 'counter', leaseMs, concurrency: 2 }, async (delivery) => {
      deliveries.push(delivery);
      if (deliveries.length === 1) {
        await delivery.nack({ tries: 2, failedAt });
      } else if (deliveries.length === 2) {
        // The handler hangs, as if its process froze: only the lease can bring the message back.
        await stuck.opened;
      } else {
        await delivery.ack();
      }
    });
    await t.publish(parcel(1));
    await eventually(() => deliveries.length === 2, { what: 'the redelivery after nack' });
    await t.time.advance(leaseMs + 1);
    await eventually(() => deliveries.length === 3, { what: 'the redelivery after the lease ran out' });
    stuck.open();

    assert.deepEqual(
      deliveries.map((d) => d.attempt),
      [1, 2, 3],
    );
    assert.deepEqual(
      deliveries.map((d) => d.firstFailedAt),
      [undefined, failedAt, failedAt],
    );
    assert.equal(deliveries[1]?.previousTries, 2, 'nack({ tries: 2 }) counts two handler runs');
    assert.ok((deliveries[2]?.previousTries ?? 0) >= 2, 'tries are never forgotten');
  },
};
