import { dumbo, sql } from '@event-driven-io/dumbo';
import {
  getPostgreSQLEventStore,
  postgreSQLProjection,
  readMessagesBatch,
  rebuildPostgreSQLProjections,
} from '@event-driven-io/emmett-postgresql';
import {
  countByDay,
  expectCount,
  type OrderData,
  orderData,
  READ_MODEL,
  SINGLE_STREAM,
  type StoreSide,
  streamOf,
  timed,
} from './common.ts';

/** What Emmett runs on here. */
export const EMMETT_POSTGRES = '@event-driven-io/emmett-postgresql 0.42.0 (pg through dumbo 0.12.7)';

type OrderPlaced = { type: 'OrderPlaced'; data: OrderData };
const orders = (count: number, offset: number): OrderPlaced[] =>
  Array.from({ length: count }, (_, i) => ({ type: 'OrderPlaced', data: orderData(offset + i) }));

/**
 * The cases on Emmett's PostgreSQL store, used as its documentation shows: `getPostgreSQLEventStore` for
 * appends and stream reads, the exported `readMessagesBatch` (what its consumers poll with; the store
 * has no public read of the global log) for case 4, and its own `rebuildPostgreSQLProjections` for case
 * 5, with a projection that applies the same per-day counts. Emmett hands a projector one event at a
 * time, so that is one upsert per event (and one checkpoint update per event, its own), in one
 * transaction per batch. Its puller sleeps between batches (`pullingFrequencyInMs`, default 50 ms):
 * set to 0 here, and its batch to the same size as Tidings'.
 */
export function emmettPostgres(url: string): StoreSide {
  const pool = dumbo({ connectionString: url });
  const store = getPostgreSQLEventStore(url, { connectionOptions: { dumbo: pool } });
  let appended = 0;
  let singles = 0;
  let version = 0n;
  return {
    async appendStreams(first, streams, perStream) {
      const batches = Array.from({ length: streams }, (_, s) => orders(perStream, appended + s * perStream));
      appended += streams * perStream;
      // The schema is made by the first call: not part of any case.
      await store.schema.migrate();
      return timed(async () => {
        for (const [s, batch] of batches.entries()) {
          await store.appendToStream(streamOf(first + s), batch, { expectedStreamVersion: 0n });
        }
      });
    },

    async appendSingles(count) {
      const events = orders(count, appended);
      appended += count;
      singles += count;
      const ms = await timed(async () => {
        for (const event of events) {
          ({ nextExpectedStreamVersion: version } = await store.appendToStream(SINGLE_STREAM, [event], {
            expectedStreamVersion: version,
          }));
        }
      });
      expectCount('emmett: version after the single appends', Number(version), singles);
      return ms;
    },

    async readStream(length) {
      let read = 0;
      const ms = await timed(async () => {
        read = (await store.readStream(SINGLE_STREAM)).events.length;
      });
      expectCount('emmett: events read from the stream', read, length);
      return ms;
    },

    async readAll(count, page) {
      let read = 0;
      const ms = await timed(async () => {
        let after = 0n;
        while (read < count) {
          const batch = await readMessagesBatch<OrderPlaced>(pool.execute, {
            after,
            batchSize: Math.min(page, count - read),
          });
          if (batch.messages.length === 0) break;
          read += batch.messages.length;
          after = batch.currentGlobalPosition;
        }
      });
      expectCount('emmett: events read through readMessagesBatch', read, count);
      return ms;
    },

    async rebuild(count, batch) {
      for (const statement of READ_MODEL.create) await pool.execute.command(sql(statement));
      let handled = 0;
      const projection = postgreSQLProjection<OrderPlaced>({
        name: READ_MODEL.name,
        canHandle: ['OrderPlaced'],
        truncate: async (context) => {
          for (const statement of READ_MODEL.truncate) await context.execute.command(sql(statement));
        },
        handle: async (events, context) => {
          for (const [day, n] of countByDay(events.map((event) => event.data))) {
            await context.execute.command(
              sql(
                `INSERT INTO bench_orders_per_day (day, orders) VALUES (%L, %s)
                 ON CONFLICT (day) DO UPDATE SET orders = bench_orders_per_day.orders + excluded.orders`,
                day,
                n,
              ),
            );
          }
          handled += events.length;
        },
      });
      const consumer = rebuildPostgreSQLProjections<OrderPlaced>({
        connectionString: url,
        pool,
        projection,
        stopAfter: () => handled >= count,
        pulling: { batchSize: batch, pullingFrequencyInMs: 0 },
      });
      try {
        const ms = await timed(() => consumer.start());
        const total = (await pool.execute.query<{ total: string }>(sql(READ_MODEL.total))).rows[0]?.total;
        expectCount('emmett: orders counted by the rebuilt read model', Number(total), count);
        return ms;
      } finally {
        await consumer.stop();
      }
    },

    close: () => pool.close(),
  };
}
