import assert from 'node:assert/strict';
import { createCatalog, defineEvent, defineProjection, memoryEventStore } from '@tidings/core';
import { z } from 'zod';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number() }),
});
const OrderShipped = defineEvent({ type: 'OrderShipped', schema: z.object({ orderId: z.string() }) });
const catalog = createCatalog({ events: [OrderPlaced, OrderShipped] });

type Order = { status: 'placed' | 'shipped'; total: number };

// One document per order: the read model a "my orders" page asks for.
const orders = defineProjection({
  name: 'orders',
  events: [OrderPlaced, OrderShipped],
  apply: (event, { documents }) =>
    documents.update<Order>('orders', event.data.orderId, (order) =>
      OrderPlaced.is(event)
        ? { status: 'placed', total: event.data.total }
        : { status: 'shipped', total: order?.total ?? 0 },
    ),
});

// Inline: given to the store, and applied inside every append's transaction once it has caught up.
const store = memoryEventStore({ catalog, projections: [orders] });
const projections = store.projections;
assert.ok(projections !== undefined);
await projections.get('orders').live(); // built from the history there was, then kept by appends

await store.append('order-1', [OrderPlaced.create({ orderId: '1', total: 30 })]);
// No waiting: the document changed in the same transaction as the append.
const documents = projections.documents('orders');
assert.deepEqual(await documents.get('orders', '1'), { status: 'placed', total: 30 });

const { position } = await store.append('order-1', [OrderShipped.create({ orderId: '1' })]);
await projections.get('orders').waitFor(position); // resolves at once for a live inline projection
assert.deepEqual(await documents.get('orders', '1'), { status: 'shipped', total: 30 });

// A collection is read in id order, a page at a time.
await store.append('order-2', [OrderPlaced.create({ orderId: '2', total: 12 })]);
const page = await documents.list<Order>('orders', { limit: 10 });
assert.deepEqual(
  page.map(({ id, document }) => [id, document.status]),
  [
    ['1', 'shipped'],
    ['2', 'placed'],
  ],
);
await store.close();
