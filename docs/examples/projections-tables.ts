import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import {
  createCatalog,
  defineEvent,
  defineProjection,
  type ProjectionContext,
  runProjections,
} from '@tidings/core';
import { sqliteEventStore } from '@tidings/sqlite';
import { z } from 'zod';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), customerId: z.string(), total: z.number() }),
});
const catalog = createCatalog({ events: [OrderPlaced] });

// ctx.tx is the store's open transaction: the better-sqlite3 Database here, a pg client on PostgreSQL.
type Sqlite = ProjectionContext<Database.Database>;
const table = (version: number): string => `customer_totals_v${version}`;

const customerTotals = defineProjection({
  name: 'customer-totals',
  version: 2,
  events: [OrderPlaced],
  // Your own table, named after the version so that a new version can be built beside the old one.
  setup: ({ tx, version }: Sqlite) =>
    tx.exec(`CREATE TABLE IF NOT EXISTS ${table(version)} (customer TEXT PRIMARY KEY, total REAL NOT NULL)`),
  // Before a rebuild: empty what apply wrote (documents are emptied for you).
  reset: ({ tx, version }: Sqlite) => tx.exec(`DELETE FROM ${table(version)}`),
  apply: (event, { tx, version }: Sqlite) =>
    tx
      .prepare(
        `INSERT INTO ${table(version)} (customer, total) VALUES (?, ?)
         ON CONFLICT (customer) DO UPDATE SET total = total + excluded.total`,
      )
      .run(event.data.customerId, event.data.total),
});

const store = sqliteEventStore({ file: ':memory:', catalog });
for (let i = 1; i <= 30; i += 1) {
  const order = { orderId: String(i), customerId: `c-${i % 3}`, total: i };
  await store.append(`order-${i}`, [OrderPlaced.create(order)]);
}
const runner = runProjections(store, { projections: [customerTotals], batchSize: 10 });
await runner.get('customer-totals').live();
const totals = () =>
  store.database.prepare(`SELECT customer, total FROM ${table(2)} ORDER BY customer`).all();
const before = totals();
assert.deepEqual(before[0], { customer: 'c-0', total: 165 });

// Rebuild: empty it and apply every event again, a batch (one transaction) at a time.
const progress: string[] = [];
await runner.rebuild('customer-totals', {
  onProgress: ({ done, total, status }) => progress.push(`${done}/${total} ${status}`),
});
assert.deepEqual(progress, ['10/30 building', '20/30 building', '30/30 live']);
assert.deepEqual(totals(), before);

await runner.close();
await store.close();
