import assert from 'node:assert/strict';
import { createBus, createCatalog, defineEvent, memoryTransport } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { z } from 'zod';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number(), country: z.string() }),
});
const PaymentCaptured = defineEvent({ type: 'PaymentCaptured', schema: z.object({ orderId: z.string() }) });
const catalog = createCatalog({ events: [OrderPlaced, PaymentCaptured] });

// memoryTransport keeps everything in this process; swap in sqliteTransport({ file }) and nothing else changes.
const bus = createBus({ catalog, transport: memoryTransport() });

const charged: string[] = [];
const audited: string[] = [];
const bigOrders: string[] = [];

// A group with handlers per type: every event of those types reaches one member of the group.
await bus.subscribe({
  group: 'payments',
  handlers: {
    OrderPlaced: async (event, ctx) => {
      charged.push(event.data.orderId);
      await ctx.publish(PaymentCaptured.create({ orderId: event.data.orderId }, { subject: event.subject }));
    },
  },
});

// Another group gets its own copy of every event (fan-out); a wildcard picks types from the catalog.
await bus.subscribe({ group: 'audit', patterns: ['*'], handler: (event) => void audited.push(event.type) });

// A content filter: only orders of 100 or more from outside France; the rest are acked unseen.
await bus.subscribe({
  group: 'fraud-check',
  events: [OrderPlaced],
  filter: { data: { total: { numeric: { gte: 100 } }, country: { anythingBut: 'FR' } } },
  handler: (event) => void bigOrders.push(event.subject ?? ''),
});

await bus.publish([
  OrderPlaced.create({ orderId: 'o-1', total: 20, country: 'FR' }, { subject: 'o-1' }),
  OrderPlaced.create({ orderId: 'o-2', total: 250, country: 'DE' }, { subject: 'o-2' }),
]);

// Delivery is asynchronous: wait until the work is done.
await eventually(() => audited.length === 4);
await bus.close();

assert.deepEqual(charged, ['o-1', 'o-2']);
assert.deepEqual(audited.sort(), ['OrderPlaced', 'OrderPlaced', 'PaymentCaptured', 'PaymentCaptured']);
assert.deepEqual(bigOrders, ['o-2']);
