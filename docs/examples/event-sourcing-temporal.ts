import assert from 'node:assert/strict';
import {
  aggregateStream,
  createCatalog,
  createEvent,
  defineEvent,
  memoryEventStore,
  upcaster,
} from '@tidings/core';
import { createManualClock } from '@tidings/core/testing';
import { z } from 'zod';

// Version 1 of ItemAdded had no currency. Stored v1 events are read as v2 through the upcaster.
const ItemAdded = defineEvent({
  type: 'ItemAdded',
  version: 2,
  schema: z.object({ sku: z.string(), price: z.number(), currency: z.string() }),
  upcasters: {
    1: upcaster(z.object({ sku: z.string(), price: z.number() }), (v1) => ({ ...v1, currency: 'EUR' })),
  },
});
const catalog = createCatalog({ events: [ItemAdded] });

const clock = createManualClock(Date.parse('2026-05-01T12:00:00Z'));
const store = memoryEventStore({ catalog, clock });
await store.append('cart-42', [createEvent('ItemAdded', 1, { sku: 'tea', price: 4 })]); // written by old code
await clock.advance(60_000);
await store.append('cart-42', [ItemAdded.create({ sku: 'cup', price: 9, currency: 'EUR' })]);

const { events } = await store.readStream('cart-42');
assert.deepEqual(events[0]?.data, { sku: 'tea', price: 4, currency: 'EUR' });

const fold = {
  initialState: () => ({ items: [] as string[], total: 0 }),
  evolve: (cart: { items: string[]; total: number }, event: (typeof events)[number]) => {
    const { sku, price } = event.data as { sku: string; price: number };
    return { items: [...cart.items, sku], total: cart.total + price };
  },
  // Save the state every 50 events; the key includes evolve's code, so a change discards old snapshots.
  snapshots: { every: 50 },
};

// Now, and as it was 30 seconds after the first item (by the store's recording time), or at version 1.
assert.deepEqual((await aggregateStream(store, 'cart-42', fold)).state, { items: ['tea', 'cup'], total: 13 });
const then = await aggregateStream(store, 'cart-42', { ...fold, asOf: { time: '2026-05-01T12:00:30Z' } });
assert.deepEqual(then.state, { items: ['tea'], total: 4 });
assert.equal(then.streamVersion, 2); // what an append must still expect
assert.equal((await aggregateStream(store, 'cart-42', { ...fold, asOf: { version: 1 } })).state.total, 4);
