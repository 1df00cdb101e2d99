import { memoryCheckpoints, type RecordedEvent, subscribeToAll } from '@tidings/core';
import type { PostgresEventStore } from '@tidings/postgres';
import type { SqliteEventStore } from '@tidings/sqlite';
import type Database from 'better-sqlite3';
import type { Pool } from 'pg';
import { countByDay, type OrderData, perSecond, READ_MODEL, SIZES } from './common.ts';

/** The read model of the rebuild: add a batch's per-day counts and move its checkpoint, in one transaction. */
interface ReadModel {
  reset(): Promise<void>;
  apply(counts: ReadonlyMap<string, number>, position: string): Promise<void>;
}

const UPSERT_DAY = `INSERT INTO bench_orders_per_day (day, orders) VALUES (?, ?)
  ON CONFLICT (day) DO UPDATE SET orders = bench_orders_per_day.orders + excluded.orders`;
const SAVE_CHECKPOINT = `INSERT INTO bench_checkpoints (name, position) VALUES (?, ?)
  ON CONFLICT (name) DO UPDATE SET position = excluded.position`;

function sqliteReadModel(db: Database.Database): ReadModel {
  for (const statement of READ_MODEL.create) db.exec(statement);
  const upsert = db.prepare(UPSERT_DAY);
  const save = db.prepare(SAVE_CHECKPOINT);
  const apply = db.transaction((counts: ReadonlyMap<string, number>, position: string) => {
    for (const [day, orders] of counts) upsert.run(day, orders);
    save.run(READ_MODEL.name, position);
  });
  return {
    reset() {
      for (const statement of READ_MODEL.truncate) db.exec(statement);
      return Promise.resolve();
    },
    apply(counts, position) {
      apply.immediate(counts, position);
      return Promise.resolve();
    },
  };
}

function postgresReadModel(pool: Pool): ReadModel {
  // One statement for all of a batch's days: the days and their counts travel as two arrays.
  const upsert = `INSERT INTO bench_orders_per_day (day, orders) SELECT * FROM unnest($1::text[], $2::bigint[])
    ON CONFLICT (day) DO UPDATE SET orders = bench_orders_per_day.orders + excluded.orders`;
  const save = SAVE_CHECKPOINT.replace('?, ?', '$1, $2');
  return {
    async reset() {
      for (const statement of [...READ_MODEL.create, ...READ_MODEL.truncate]) await pool.query(statement);
    },
    async apply(counts, position) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(upsert, [[...counts.keys()], [...counts.values()]]);
        await client.query(save, [READ_MODEL.name, position]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

/**
 * Case 5, the Tidings side: rebuilds the per-day order counts (`bench_orders_per_day`) from the first
 * `events` events of the store's global order, one read-model transaction per batch (which also saves
 * the checkpoint, so a crash never counts a batch twice), and resolves with the rate from the start of
 * the read to the last write. The table is emptied first; the caller checks its total afterwards.
 *
 * For now it follows the store with `subscribeToAll` and a batch handler; once the projection API lands,
 * this body becomes a rebuild through it, and the benchmark around it stays as it is.
 */
export async function rebuildTidings(
  store: SqliteEventStore | PostgresEventStore,
  events: number,
): Promise<{ eventsPerSecond: number }> {
  const readModel = 'database' in store ? sqliteReadModel(store.database) : postgresReadModel(store.pool);
  await readModel.reset();
  let handled = 0;
  let settle: (error?: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  const handleBatch = async (batch: readonly RecordedEvent[]): Promise<void> => {
    const wanted = batch.slice(0, events - handled);
    const last = wanted[wanted.length - 1];
    if (last === undefined) return;
    await readModel.apply(countByDay(wanted.map((event) => event.data as OrderData)), last.position);
    handled += wanted.length;
    if (handled >= events) settle();
  };
  const started = performance.now();
  const subscription = subscribeToAll(store, {
    name: READ_MODEL.name,
    checkpoints: memoryCheckpoints(),
    batchSize: SIZES.page,
    handleBatch,
    // A benchmark stops at the first failure instead of retrying it with a backoff.
    onError: (error, { stage }) =>
      settle(
        error instanceof Error ? error : new Error(`rebuildTidings failed at ${stage}`, { cause: error }),
      ),
  });
  // A store holding fewer events than asked would leave the subscription idle for ever: stop when it is.
  const idle = setInterval(() => {
    if (subscription.caughtUp() && handled < events) {
      settle(new Error(`rebuildTidings: the store holds ${handled} events, fewer than ${events}`));
    }
  }, 50);
  try {
    await finished;
    return { eventsPerSecond: perSecond(events, performance.now() - started) };
  } finally {
    clearInterval(idle);
    await subscription.close();
  }
}
