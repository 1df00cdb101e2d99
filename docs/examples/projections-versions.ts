import assert from 'node:assert/strict';
import {
  createCatalog,
  defineEvent,
  defineProjection,
  memoryEventStore,
  runProjections,
} from '@tidings/core';
import { z } from 'zod';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number() }),
});
const catalog = createCatalog({ events: [OrderPlaced] });
const store = memoryEventStore({ catalog });
for (let i = 1; i <= 5; i += 1) {
  await store.append(`order-${i}`, [OrderPlaced.create({ orderId: String(i), total: i * 10 })]);
}

// Version 1 keeps the total; version 2 (new code, new deploy) keeps it in cents.
const ordersV1 = defineProjection({
  name: 'orders',
  events: [OrderPlaced],
  apply: (event, { documents }) => documents.put('orders', event.data.orderId, { total: event.data.total }),
});
const ordersV2 = defineProjection({
  name: 'orders',
  version: 2,
  events: [OrderPlaced],
  apply: (event, { documents }) =>
    documents.put('orders', event.data.orderId, { cents: Math.round(event.data.total * 100) }),
});

const oldDeploy = runProjections(store, { projections: [ordersV1] });
await oldDeploy.get('orders').live();
assert.deepEqual(await oldDeploy.documents('orders').get('orders', '1'), { total: 10 });

// The new deploy builds version 2 beside version 1; reads go to version 1 until version 2 has caught up.
const newDeploy = runProjections(store, { projections: [ordersV2], batchSize: 2 });
await newDeploy.get('orders').live();
assert.deepEqual(await oldDeploy.documents('orders').get('orders', '1'), { cents: 1000 });

// Version 1 was retired, and its documents removed, in the transaction that made version 2 live.
const states = await newDeploy.status();
assert.deepEqual(
  states.map((state) => [state.version, state.status]),
  [
    [1, 'retired'],
    [2, 'live'],
  ],
);
await oldDeploy.close();
await newDeploy.close();
