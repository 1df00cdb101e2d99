import { defineProjection, runProjections } from '@tidings/core';
import type { PostgresEventStore } from '@tidings/postgres';
import type { SqliteEventStore } from '@tidings/sqlite';
import { type OrderData, perSecond, READ_MODEL, SIZES } from './common.ts';

/**
 * Case 5, the Tidings side: a projection of orders per day (documents keyed by day), rebuilt through
 * the projection API (`runner.rebuild`): each batch of {@link SIZES.page} events is one transaction
 * holding the read-model changes and the projection's position. It counts the first `events` events
 * of the log (the same events Emmett's side counts) and passes the rest by, reads to the end of the log
 * (so a store holding more events makes Tidings' figure lower, never higher), and resolves with the rate
 * from the start of the rebuild until the projection is live again, and the total it counted.
 */
export async function rebuildTidings(
  store: SqliteEventStore | PostgresEventStore,
  events: number,
): Promise<{ eventsPerSecond: number; total: number }> {
  let seen = 0;
  const projection = defineProjection({
    name: READ_MODEL.name,
    events: ['OrderPlaced'],
    apply(event, { documents }) {
      seen += 1;
      if (seen > events) return undefined;
      const day = (event.data as OrderData).placedAt.slice(0, 10);
      return documents.update<number>('days', day, (orders) => (orders ?? 0) + 1);
    },
  });
  const runner = runProjections(store, { projections: [projection], batchSize: SIZES.page });
  try {
    await runner.get(READ_MODEL.name).live();
    seen = 0;
    const started = performance.now();
    await runner.rebuild(READ_MODEL.name);
    const eventsPerSecond = perSecond(events, performance.now() - started);
    const days = await runner.documents(READ_MODEL.name).list<number>('days', { limit: 100_000 });
    return { eventsPerSecond, total: days.reduce((sum, day) => sum + day.document, 0) };
  } finally {
    await runner.close();
  }
}
