import {
  getSQLiteEventStore,
  readMessagesBatch,
  type SQLiteConnection,
  sqliteConnection,
} from 'tidings-bench-emmett-sqlite';
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

/** What Emmett 0.38.5 runs on: its own store, and a connection of its own for the global log. */
export const EMMETT_SQLITE = '@event-driven-io/emmett-sqlite 0.38.5 (sqlite3 5.1.7)';

type OrderPlaced = { type: 'OrderPlaced'; data: OrderData };
const orders = (count: number, offset: number): OrderPlaced[] =>
  Array.from({ length: count }, (_, i) => ({ type: 'OrderPlaced', data: orderData(offset + i) }));

let busyRetries = 0;
/** How many Emmett calls failed with SQLITE_BUSY and were tried again, since the process started. */
export const emmettSqliteBusyRetries = (): number => busyRetries;

/**
 * Emmett's sqlite3 connection runs statements in sqlite3's default parallel mode and does not wait for
 * one to be finalized before the next: now and then a COMMIT finds the previous statement still open
 * and fails with SQLITE_BUSY ("cannot commit transaction - SQL statements in progress"), after which it
 * rolls back. An application would retry such a call; so does the benchmark, a few times, and counts it.
 */
async function retryBusy<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || attempt >= 5) throw error;
      busyRetries += 1;
    }
  }
}

const UPSERT_DAY = `INSERT INTO bench_orders_per_day (day, orders) VALUES (?, ?)
  ON CONFLICT (day) DO UPDATE SET orders = bench_orders_per_day.orders + excluded.orders`;
const SAVE_CHECKPOINT = `INSERT INTO bench_checkpoints (name, position) VALUES (?, ?)
  ON CONFLICT (name) DO UPDATE SET position = excluded.position`;

/** Every message of the global log after `after`, `page` at a time, until `count` were handed to `each`. */
async function followLog(
  connection: SQLiteConnection,
  count: number,
  page: number,
  each: (messages: OrderPlaced[], last: bigint) => Promise<void>,
): Promise<number> {
  let after = 0n;
  let read = 0;
  while (read < count) {
    const batch = await readMessagesBatch<OrderPlaced>(connection, {
      after,
      batchSize: Math.min(page, count - read),
    });
    if (batch.messages.length === 0) break;
    await each(batch.messages, batch.currentGlobalPosition);
    read += batch.messages.length;
    after = batch.currentGlobalPosition;
  }
  return read;
}

/**
 * The cases on Emmett's SQLite store, used as its documentation shows: `getSQLiteEventStore` for appends
 * and stream reads (it opens and closes a connection per call on a file). It has no public read of the
 * global log on the store itself, so cases 4 and 5 use the exported `readMessagesBatch` (what its
 * consumers poll with) on a connection from its `sqliteConnection`; it has no rebuild either, so case 5
 * is that read plus the same apply as Tidings', one `withTransaction` per batch.
 */
export function emmettSqlite(file: string): StoreSide {
  const store = getSQLiteEventStore({ fileName: file });
  let appended = 0;
  let singles = 0;
  let version = 0n;
  return {
    async appendStreams(first, streams, perStream) {
      const batches = Array.from({ length: streams }, (_, s) => orders(perStream, appended + s * perStream));
      appended += streams * perStream;
      // The store makes its schema on the first call: not part of any case.
      await store.readStream(SINGLE_STREAM);
      return timed(async () => {
        for (const [s, batch] of batches.entries()) {
          await retryBusy(() =>
            store.appendToStream(streamOf(first + s), batch, { expectedStreamVersion: 0n }),
          );
        }
      });
    },

    async appendSingles(count) {
      const events = orders(count, appended);
      appended += count;
      singles += count;
      const ms = await timed(async () => {
        for (const event of events) {
          const expectedStreamVersion = version;
          ({ nextExpectedStreamVersion: version } = await retryBusy(() =>
            store.appendToStream(SINGLE_STREAM, [event], { expectedStreamVersion }),
          ));
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
      const connection = sqliteConnection({ fileName: file });
      try {
        let read = 0;
        const ms = await timed(async () => {
          read = await followLog(connection, count, page, () => Promise.resolve());
        });
        expectCount('emmett: events read through readMessagesBatch', read, count);
        return ms;
      } finally {
        connection.close();
      }
    },

    async rebuild(count, batch) {
      const connection = sqliteConnection({ fileName: file });
      try {
        for (const statement of [...READ_MODEL.create, ...READ_MODEL.truncate])
          await connection.command(statement);
        const ms = await timed(() =>
          followLog(connection, count, batch, (messages, last) =>
            retryBusy(() =>
              connection.withTransaction(async () => {
                for (const [day, n] of countByDay(messages.map((message) => message.data))) {
                  await connection.command(UPSERT_DAY, [day, n]);
                }
                await connection.command(SAVE_CHECKPOINT, [READ_MODEL.name, String(last)]);
              }),
            ),
          ),
        );
        const total = await connection.querySingle<{ total: string }>(READ_MODEL.total);
        expectCount('emmett: orders counted by the rebuilt read model', Number(total?.total), count);
        return ms;
      } finally {
        connection.close();
      }
    },

    close: () => Promise.resolve(),
  };
}

/** The `synchronous` setting of a connection Emmett opens on `file` (it sets WAL and leaves this alone). */
export async function emmettSqliteSynchronous(file: string): Promise<string> {
  const connection = sqliteConnection({ fileName: file });
  try {
    const row = await connection.querySingle<{ synchronous: number }>('PRAGMA synchronous');
    return ['OFF', 'NORMAL', 'FULL', 'EXTRA'][row?.synchronous ?? -1] ?? 'unknown';
  } finally {
    connection.close();
  }
}
