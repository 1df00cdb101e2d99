import type { Pool } from 'pg';
import {
  type CheckpointStore,
  type Clock,
  checkCheckpoint,
  type ListedStream,
  type ListStreamsOptions,
  type ListStreamsResult,
  resolveListStreams,
} from '@tidings/core';
import { parsePosition } from './event-store-rows.ts';
import { quote } from './schema.ts';

/** Runs one store call: refuses it when the store is closed, migrates first, maps a lost server. */
type StoreCall = <T>(what: string, work: () => Promise<T>) => Promise<T>;

interface ListedRow {
  readonly stream: string;
  readonly version: number;
  readonly truncate_before: number;
  readonly tombstoned: boolean;
  readonly last_recorded_at: number;
}

/**
 * `listStreams` of the PostgreSQL store: a range of `es_streams` in the "C" collation (code point order,
 * whatever the database's default collation), on the index migration 2 made for it. A row of version 0
 * that is not tombstoned is a stream a soft delete locked before it had events: never written, so not
 * listed.
 *
 * @internal
 */
export function createStreamLister(
  pool: Pool,
  schema: string,
  call: StoreCall,
): (options: ListStreamsOptions | undefined) => Promise<ListStreamsResult> {
  const text = `SELECT stream, version::float8 AS version, truncate_before::float8 AS truncate_before, tombstoned,
      last_recorded_at::float8 AS last_recorded_at
    FROM ${quote(schema)}.es_streams
    WHERE stream COLLATE "C" > $1 AND stream COLLATE "C" >= $2
      AND ($3::text IS NULL OR stream COLLATE "C" < $3::text) AND (version > 0 OR tombstoned)
    ORDER BY stream COLLATE "C" LIMIT $4`;
  return (options) =>
    call('list streams', async (): Promise<ListStreamsResult> => {
      const list = resolveListStreams(options);
      // One more than the page, to know whether another follows.
      const { rows } = await pool.query<ListedRow>(text, [
        list.after,
        list.prefix,
        list.upper ?? null,
        list.limit + 1,
      ]);
      const streams = rows.slice(0, list.limit).map(
        (row): ListedStream => ({
          stream: row.stream,
          version: row.version,
          truncateBefore: row.truncate_before,
          deleted: row.version > 0 && row.truncate_before > row.version && !row.tombstoned,
          tombstoned: row.tombstoned,
          lastRecordedAt: row.version === 0 ? undefined : new Date(row.last_recorded_at).toISOString(),
        }),
      );
      return rows.length > list.limit ? { streams, next: streams[streams.length - 1]?.stream } : { streams };
    });
}

const isPosition = (position: string): boolean => {
  try {
    parsePosition('checkpoints', position);
    return true;
  } catch {
    return false;
  }
};

/**
 * `store.checkpoints` of the PostgreSQL store: one row per reader in `es_checkpoints`, in the store's
 * schema, so a subscription resumes where it stood after a restart, on any machine. A save only moves a
 * row forward (in one statement, so two savers racing keep the later position); `reset` sets or removes it.
 *
 * @internal
 */
export function createPostgresCheckpoints(
  pool: Pool,
  schema: string,
  clock: Clock,
  call: StoreCall,
): CheckpointStore {
  const s = quote(schema);
  // Named, so each connection plans them once: a subscription saves after every batch.
  const load = {
    name: `tidings_es_cp_load_${schema}`,
    text: `SELECT position FROM ${s}.es_checkpoints WHERE name = $1`,
  };
  const save = {
    name: `tidings_es_cp_save_${schema}`,
    text: `INSERT INTO ${s}.es_checkpoints AS cp (name, position, updated_at) VALUES ($1, $2, $3)
      ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
      WHERE cp.position < excluded.position`,
  };
  const set = `INSERT INTO ${s}.es_checkpoints AS cp (name, position, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`;
  const remove = `DELETE FROM ${s}.es_checkpoints WHERE name = $1`;
  return Object.freeze({
    load: (name) =>
      call(`load checkpoint "${name}"`, async () => {
        checkCheckpoint('load', name, undefined, isPosition);
        const { rows } = await pool.query<{ position: string }>({ ...load, values: [name] });
        return rows[0]?.position;
      }),
    save: (name, position) =>
      call(`save checkpoint "${name}"`, async () => {
        checkCheckpoint('save', name, position, isPosition);
        await pool.query({ ...save, values: [name, position, clock.now()] });
      }),
    reset: (name, position) =>
      call(`reset checkpoint "${name}"`, async () => {
        checkCheckpoint('reset', name, position, isPosition);
        if (position === undefined) await pool.query(remove, [name]);
        else await pool.query(set, [name, position, clock.now()]);
      }),
  } satisfies CheckpointStore);
}
