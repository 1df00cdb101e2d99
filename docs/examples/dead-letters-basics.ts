import assert from 'node:assert/strict';
import { createBus, createCatalog, defineEvent, memoryTransport, NonRetryableError } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { z } from 'zod';

const OrderShipped = defineEvent({
  type: 'OrderShipped',
  schema: z.object({ orderId: z.string(), postcode: z.string() }),
});
const catalog = createCatalog({ events: [OrderShipped] });

let carrierUp = false;
const notified: string[] = [];
const bus = createBus({
  catalog,
  transport: memoryTransport(),
  // Fast retries for the example: two immediate tries, no delayed redelivery.
  retry: { immediate: 1, minDelayMs: 1, delays: [] },
  onDeadLetter: (deadLetter) =>
    console.log(`dead letter: ${deadLetter.type} in ${deadLetter.group}: ${deadLetter.error.message}`),
});

await bus.subscribe({
  group: 'notify-customer',
  handlers: {
    OrderShipped: (event) => {
      if (event.data.postcode === '') throw new NonRetryableError('no postcode: cannot find the customer'); // no retry
      if (!carrierUp) throw new Error(`carrier API unavailable for ${event.data.orderId}`); // retried, then dead-lettered
      notified.push(event.data.orderId);
    },
  },
});

await bus.publish([
  OrderShipped.create({ orderId: 'o-1', postcode: '75001' }),
  OrderShipped.create({ orderId: 'o-2', postcode: '10115' }),
  OrderShipped.create({ orderId: 'o-3', postcode: '' }),
]);
await eventually(async () => (await bus.deadLetters.list()).length === 3);

// Failures group by fingerprint: the two carrier failures are one group, whatever the order id.
const groups = await bus.deadLetters.groups();
assert.deepEqual(
  groups.map((group) => [group.count, group.errorMessage]),
  [
    [2, 'carrier API unavailable for o-1'],
    [1, 'no postcode: cannot find the customer'],
  ],
);
const [depth] = await bus.deadLetters.depth();
assert.equal(depth?.count, 3);

// The carrier is back: replay that group; the fingerprint stays behind for the other bug.
carrierUp = true;
const { replayed } = await bus.deadLetters.replay({ fingerprint: groups[0]?.fingerprint ?? '' });
assert.equal(replayed, 2);
await eventually(() => notified.length === 2);

// The order with no postcode needs a fix upstream; discard its dead letter once recorded elsewhere.
const { discarded } = await bus.deadLetters.discard({ reason: 'non-retryable' });
assert.equal(discarded, 1);
assert.deepEqual(await bus.deadLetters.depth(), []);
await bus.close();
