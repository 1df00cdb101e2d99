import assert from 'node:assert/strict';
import {
  createBus,
  createCatalog,
  defineEvent,
  memoryCheckpoints,
  memoryEventStore,
  memoryTransport,
  relayToBus,
  subscribeToAll,
} from '@tidings/core';
import { z } from 'zod';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 1,
  schema: z.object({ orderId: z.string(), total: z.number() }),
});
const catalog = createCatalog({ events: [OrderPlaced] });
const store = memoryEventStore({ catalog });
const checkpoints = memoryCheckpoints(); // in production, a table in the same database as the store

// A read model fed by a subscription: the revenue so far.
let revenue = 0;
const revenueView = subscribeToAll(store, {
  name: 'revenue',
  checkpoints,
  types: ['OrderPlaced'],
  pollIntervalMs: 100,
  handler: (event) => {
    revenue += (event.data as { total: number }).total;
  },
});

// The relay carries every stored event to the bus, in commit order: no outbox table needed.
const bus = createBus({ catalog, transport: memoryTransport() });
const shipping: string[] = [];
await bus.subscribe({
  group: 'shipping',
  handlers: { OrderPlaced: (event) => void shipping.push(event.data.orderId) },
});
const relay = relayToBus(store, bus, { name: 'bus-relay', checkpoints, pollIntervalMs: 100 });

const { position } = await store.append('order-42', [OrderPlaced.create({ orderId: '42', total: 10 })], {
  expectedVersion: 'no-stream',
});
await revenueView.waitFor(position); // read your own write
assert.equal(revenue, 10);
await relay.waitFor(position); // published; the bus hands it to 'shipping' on its own schedule

await Promise.all([revenueView.close(), relay.close()]);
await bus.close();
assert.equal(await checkpoints.load('revenue'), position); // a restart continues after this
