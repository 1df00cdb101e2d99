import assert from 'node:assert/strict';
import { eventually, gate, parcel, type TransportCase } from './harness.ts';

const LIMIT = 3;
const TOTAL = 12;

/** NServiceBus's When_multiple_messages_are_available: never more than N at once, and all get done. */
export const concurrencyLimit: TransportCase = {
  name: 'never has more deliveries in flight than the concurrency limit',
  async run(t) {
    const release = gate();
    let inFlight = 0;
    let maxInFlight = 0;
    let done = 0;
    await t.consume({ group: 'limited', concurrency: LIMIT }, async (delivery) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await release.opened;
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Leave before settling: once settled, the transport may hand out the next one at once.
      inFlight -= 1;
      done += 1;
      await delivery.ack();
    });
    await t.publish(...Array.from({ length: TOTAL }, (_, n) => parcel(n)));
    await eventually(() => inFlight === LIMIT, { what: () => `${LIMIT} in flight (have ${inFlight})` });
    await t.time.idle();
    assert.equal(inFlight, LIMIT, `more than ${LIMIT} deliveries were handed out at once`);
    release.open();
    await eventually(() => done === TOTAL, { what: () => `${done} of ${TOTAL} handled` });
    assert.ok(
      maxInFlight <= LIMIT,
      `${maxInFlight} deliveries were in flight at once; the limit is ${LIMIT}`,
    );
  },
};
