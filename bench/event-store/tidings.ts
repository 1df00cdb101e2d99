import { defineEvent, type EventOf, type GlobalPosition } from '@tidings/core';
import { type PostgresEventStore, postgresEventStore } from '@tidings/postgres';
import { type SqliteEventStore, sqliteEventStore } from '@tidings/sqlite';
import { z } from 'zod';
import { expectCount, orderData, SINGLE_STREAM, type StoreSide, streamOf, timed } from './common.ts';
import { rebuildTidings } from './tidings-rebuild.ts';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({
    orderId: z.string(),
    customerId: z.string(),
    total: z.number(),
    currency: z.string(),
    placedAt: z.string(),
  }),
});
type OrderPlacedEvent = EventOf<typeof OrderPlaced>;

const orders = (count: number, offset: number): OrderPlacedEvent[] =>
  Array.from({ length: count }, (_, i) => OrderPlaced.create(orderData(offset + i)));

/** The cases run on a Tidings event store, through its public `EventStore` methods. */
export function tidingsSide(store: SqliteEventStore | PostgresEventStore): StoreSide {
  let appended = 0;
  let singles = 0;
  let version = 0;
  return {
    async appendStreams(first, streams, perStream) {
      const batches = Array.from({ length: streams }, (_, s) => orders(perStream, appended + s * perStream));
      appended += streams * perStream;
      // A PostgreSQL store makes its schema on the first call: not part of any case.
      await store.getStreamMetadata(SINGLE_STREAM);
      return timed(async () => {
        for (const [s, batch] of batches.entries()) {
          await store.append(streamOf(first + s), batch, { expectedVersion: 0 });
        }
      });
    },

    async appendSingles(count) {
      const events = orders(count, appended);
      appended += count;
      singles += count;
      const ms = await timed(async () => {
        for (const event of events) {
          ({ streamVersion: version } = await store.append(SINGLE_STREAM, [event], {
            expectedVersion: version,
          }));
        }
      });
      expectCount('tidings: version after the single appends', version, singles);
      return ms;
    },

    async readStream(length) {
      let read = 0;
      const ms = await timed(async () => {
        read = (await store.readStream(SINGLE_STREAM)).events.length;
      });
      expectCount('tidings: events read from the stream', read, length);
      return ms;
    },

    async readAll(count, page) {
      let read = 0;
      const ms = await timed(async () => {
        let after: GlobalPosition | undefined;
        while (read < count) {
          const result = await store.readAll({ after, limit: Math.min(page, count - read) });
          if (result.events.length === 0) break;
          read += result.events.length;
          after = result.position;
        }
      });
      expectCount('tidings: events read through readAll', read, count);
      return ms;
    },

    async rebuild(count) {
      const { eventsPerSecond, total } = await rebuildTidings(store, count);
      expectCount('tidings: orders counted by the rebuilt read model', total, count);
      return (count / eventsPerSecond) * 1000;
    },

    close: () => store.close(),
  };
}

/** A Tidings SQLite store on `file`, at the given durability (its default is NORMAL). */
export const tidingsSqlite = (file: string, synchronous?: 'NORMAL' | 'FULL'): StoreSide =>
  tidingsSide(sqliteEventStore({ file, ...(synchronous === undefined ? {} : { synchronous }) }));

/** A Tidings PostgreSQL store in the database at `url` (its default schema, `tidings`). */
export const tidingsPostgres = (url: string): StoreSide =>
  tidingsSide(postgresEventStore({ connectionString: url }));
