import assert from 'node:assert/strict';
import { ConcurrencyError, createCatalog, defineEvent, memoryEventStore } from '@tidings/core';
import { z } from 'zod';

const ItemAdded = defineEvent({
  type: 'ItemAdded',
  schema: z.object({ sku: z.string(), price: z.number() }),
});
const CartCheckedOut = defineEvent({ type: 'CartCheckedOut', schema: z.object({ total: z.number() }) });
const catalog = createCatalog({ events: [ItemAdded, CartCheckedOut] });

// memoryEventStore for tests; sqliteEventStore({ file: 'shop.db', catalog }) keeps the same contract on disk.
const store = memoryEventStore({ catalog });

// 'no-stream': this append creates the cart, and fails if someone else already did.
const first = await store.append('cart-1', [ItemAdded.create({ sku: 'tea', price: 4 })], {
  expectedVersion: 'no-stream',
});
assert.equal(first.streamVersion, 1);

// A number: "I decided this on version 1". Another writer got there first, so this one is refused.
await store.append('cart-1', [ItemAdded.create({ sku: 'cup', price: 9 })], { expectedVersion: 1 });
await assert.rejects(
  store.append('cart-1', [CartCheckedOut.create({ total: 4 })], { expectedVersion: 1 }),
  (error) => error instanceof ConcurrencyError && error.actual === 2,
);

// Sending the same events again (a retried request) stores nothing and returns the first answer.
const checkout = [CartCheckedOut.create({ total: 13 })];
const done = await store.append('cart-1', checkout, { expectedVersion: 2 });
assert.deepEqual(await store.append('cart-1', checkout, { expectedVersion: 2 }), done);

// One stream, oldest first or newest first.
const { events, streamVersion } = await store.readStream('cart-1');
assert.deepEqual(
  events.map((e) => e.type),
  ['ItemAdded', 'ItemAdded', 'CartCheckedOut'],
);
assert.equal(streamVersion, 3);
const [newest] = (await store.readStream('cart-1', { direction: 'backward', limit: 1 })).events;
assert.equal(newest?.type, 'CartCheckedOut');

// Every stream in one global order. Keep `position` as your checkpoint and read on from it later.
await store.append('cart-2', [ItemAdded.create({ sku: 'pot', price: 30 })]);
const page = await store.readAll({ after: done.position, types: ['ItemAdded'] });
assert.deepEqual(
  page.events.map((e) => `${e.stream}@${e.streamVersion}`),
  ['cart-2@1'],
);
assert.equal(page.caughtUp, true);
