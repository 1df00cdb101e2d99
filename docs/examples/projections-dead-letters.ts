import assert from 'node:assert/strict';
import {
  createCatalog,
  createDeadLetters,
  createEvent,
  defineEvent,
  defineProjection,
  memoryEventStore,
  runProjections,
} from '@tidings/core';
import { z } from 'zod';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number(), currency: z.string() }),
});
const catalog = createCatalog({ events: [OrderPlaced] });
const rates = new Map([['EUR', 1]]);

const revenue = defineProjection({
  name: 'revenue',
  events: [OrderPlaced],
  apply(event, { documents }) {
    const rate = rates.get(event.data.currency);
    if (rate === undefined) throw new Error(`no exchange rate for ${event.data.currency}`);
    return documents.put('orders', event.data.orderId, { eur: event.data.total * rate });
  },
});

const store = memoryEventStore({ catalog });
const runner = runProjections(store, { projections: [revenue] });
await store.append('order-1', [OrderPlaced.create({ orderId: '1', total: 10, currency: 'EUR' })]);
await store.append('order-2', [OrderPlaced.create({ orderId: '2', total: 10, currency: 'CHF' })]);
await store.append('order-2', [OrderPlaced.create({ orderId: '2', total: 12, currency: 'EUR' })]);
// Written by a buggy producer: the store accepts it, but it cannot be read back as an OrderPlaced.
await store.append('order-3', [createEvent('OrderPlaced', 1, { orderId: '3', total: 'lots' })]);
const end = await store.append('order-4', [OrderPlaced.create({ orderId: '4', total: 5, currency: 'EUR' })]);
await runner.get('revenue').waitFor(end.position);

// Order 2 failed and its stream waits behind the failure; every other stream went on.
const deadLetters = createDeadLetters(runner.deadLetters);
const letters = await deadLetters.list({ group: 'revenue' });
assert.deepEqual(
  letters.map((letter) => [letter.message.headers['tidings-stream'], letter.reason]),
  [
    ['order-2', 'non-retryable'], // apply threw
    ['order-2', 'paused'], // a later event of the same stream, held back so that order is kept
    ['order-3', 'invalid'], // the stored event could not be read
  ],
);
assert.deepEqual(await runner.documents('revenue').get('orders', '4'), { eur: 5 });

// Fix the cause, then replay: the event and those held behind it are applied, in order.
rates.set('CHF', 1.05);
assert.deepEqual(await deadLetters.replay(letters[0]?.id as string), { replayed: 1 });
assert.deepEqual(await runner.documents('revenue').get('orders', '2'), { eur: 12 });
// Nothing will make the bad event readable: discard it.
assert.deepEqual(await deadLetters.discard({ reason: 'invalid' }), { discarded: 1 });
assert.deepEqual(await deadLetters.list(), []);
await runner.close();
