import assert from 'node:assert/strict';
import { createCatalog, defineEvent, defineProjection, runProjections } from '@tidings/core';
import { createManualClock } from '@tidings/core/testing';
import { sqliteEventStore } from '@tidings/sqlite';
import { z } from 'zod';

const OrderPaid = defineEvent({
  type: 'OrderPaid',
  schema: z.object({ orderId: z.string(), amount: z.number() }),
});
const catalog = createCatalog({ events: [OrderPaid] });

type Day = { orders: number; revenue: number };

// A total over every order: a good fit for an async projection, whose batches run one at a time.
const revenuePerDay = defineProjection({
  name: 'revenue-per-day',
  events: [OrderPaid],
  // On SQLite, apply is synchronous: it returns the call instead of awaiting it.
  apply: (event, { documents }) =>
    documents.update<Day>('days', event.recordedAt.slice(0, 10), (day) => ({
      orders: (day?.orders ?? 0) + 1,
      revenue: (day?.revenue ?? 0) + event.data.amount,
    })),
});

// The store's clock stamps each event's recordedAt; a manual one makes the days predictable here.
const clock = createManualClock(Date.parse('2026-05-01T09:00:00Z'));
const store = sqliteEventStore({ file: ':memory:', catalog, clock });
// History first: the runner catches up with it, then follows new appends.
for (const [orderId, amount] of [
  ['1', 30],
  ['2', 12],
] as const) {
  await store.append(`order-${orderId}`, [OrderPaid.create({ orderId, amount })]);
}

const runner = runProjections(store, { projections: [revenuePerDay] });
await runner.get('revenue-per-day').live();
const days = runner.documents('revenue-per-day');
assert.deepEqual(await days.get('days', '2026-05-01'), { orders: 2, revenue: 42 });

// Read your writes: wait until the runner has applied (and checkpointed) the append.
await clock.advance(24 * 60 * 60 * 1000);
const { position } = await store.append('order-3', [OrderPaid.create({ orderId: '3', amount: 8 })]);
await runner.get('revenue-per-day').waitFor(position);
assert.deepEqual(await days.get('days', '2026-05-02'), { orders: 1, revenue: 8 });

// Where it stands: its checkpoint is the position it has reached, stored with its documents.
const [state] = await runner.status();
assert.equal(state?.status, 'live');
assert.equal(state?.applied, 3);
assert.equal(state?.position, position);

await runner.close();
await store.close();
