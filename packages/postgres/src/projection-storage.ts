import type { Pool, PoolClient } from 'pg';
import {
  type Projection,
  type ProjectionKv,
  type ProjectionRead,
  type ProjectionStorage,
  type ProjectionTransaction,
} from '@tidings/core';
import { runMigrations, quote } from './schema.ts';

const MIGRATIONS: readonly string[] = [
  `
  -- Projection bookkeeping (state, paused streams, dead letters) and document read models, as one
  -- key-value table in spaces, written in the same transactions as the appends and checkpoints.
  -- value is null for a row that only holds a lock: a transaction reading a key it may write takes
  -- the row (creating it when missing), so concurrent read-modify-writes of one document queue up.
  CREATE TABLE $S.projection_kv (
    space text NOT NULL,
    key text NOT NULL,
    value text,
    PRIMARY KEY (space, key)
  );
  `,
];

/**
 * PostgreSQL failures that are about the moment, not the event: serialization and deadlock aborts
 * (class 40), connection loss (08), resources (53), operator intervention and timeouts (57), lock not
 * available (55P03), and errors raised by the driver itself (no SQLSTATE: a read timeout, a closed socket).
 * @internal
 */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
    return /^(40|08|53|57)/.test(code) || code === '55P03';
  // The driver's own failures carry no SQLSTATE: a read timeout, a closed or refused connection.
  return (
    error instanceof Error &&
    /timeout|terminat|ECONN|socket|connection/i.test(`${String(code)} ${error.message}`)
  );
}

/** The advisory-lock names of a store's inline projections, in a fixed order. @internal */
export const inlineLocks = (projections: readonly Projection[]): string[] =>
  projections.map((p) => `tidings-projection:${p.name}`).sort();

/** What the store gives its projection storage. @internal */
export interface PostgresProjectionSource {
  readonly pool: Pool;
  readonly schema: string;
  /** Resolves once the store's tables exist. */
  ready(): Promise<void>;
  /** The store's transaction helper: BEGIN, work, COMMIT, or ROLLBACK when it throws. */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  /** A page of the global order on this client, unreadable events returned as such. */
  readPage(
    client: PoolClient,
    after: string | undefined,
    types: readonly string[],
    limit: number,
  ): Promise<{
    items: ProjectionRead['items'] extends readonly (infer I)[] ? I[] : never;
    position: string;
    caughtUp: boolean;
  }>;
}

/** The PostgreSQL projection storage, plus what the store itself needs. @internal */
export interface PostgresProjectionStorage extends ProjectionStorage<PoolClient> {
  /** The projection view of a transaction the store already opened (an append's). */
  on(client: PoolClient): ProjectionTransaction<PoolClient>;
  /** Resolves once the projection table exists. */
  ready(): Promise<void>;
  notify(): void;
}

/**
 * Projections on PostgreSQL: the key-value table in the store's schema, transactions on one pooled
 * client, savepoints per event when isolating, and advisory locks (keyed by schema and name) to order
 * runners and inline appends without holding back the readers' horizon.
 * @internal
 */
export function postgresProjectionStorage(source: PostgresProjectionSource): PostgresProjectionStorage {
  const s = quote(source.schema);
  let migrated: Promise<void> | undefined;
  const ready = async (): Promise<void> => {
    await source.ready();
    migrated ??= runMigrations(source.pool, source.schema, {
      versionName: 'projection_schema_version',
      what: 'projection schema',
      migrations: MIGRATIONS,
    }).catch((error: unknown) => {
      migrated = undefined;
      throw error;
    });
    await migrated;
  };
  const sql = {
    get: `SELECT value FROM ${s}.projection_kv WHERE space = $1 AND key = $2`,
    // Inside a transaction: lock the key's row (creating a placeholder), and see its latest committed value.
    // A plain SELECT would read the statement's snapshot, and two appends would both add to the same old value.
    getForUpdate: `INSERT INTO ${s}.projection_kv AS kv (space, key, value) VALUES ($1, $2, NULL)
      ON CONFLICT (space, key) DO UPDATE SET value = kv.value RETURNING value`,
    put: `INSERT INTO ${s}.projection_kv (space, key, value) VALUES ($1, $2, $3)
      ON CONFLICT (space, key) DO UPDATE SET value = excluded.value`,
    delete: `DELETE FROM ${s}.projection_kv WHERE space = $1 AND key = $2`,
    putMany: `INSERT INTO ${s}.projection_kv (space, key, value)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
      ON CONFLICT (space, key) DO UPDATE SET value = excluded.value`,
    deleteMany: `DELETE FROM ${s}.projection_kv AS kv USING unnest($1::text[], $2::text[]) AS d(space, key)
      WHERE kv.space = d.space AND kv.key = d.key`,
    list: `SELECT key, value FROM ${s}.projection_kv WHERE space = $1 AND key > $2 AND value IS NOT NULL
      ORDER BY key COLLATE "C" LIMIT $3`,
    clear: `DELETE FROM ${s}.projection_kv WHERE starts_with(space, $1)`,
    count: `SELECT count(*)::float8 AS n FROM ${s}.es_events WHERE type = ANY($1::text[])`,
  };
  const kvOn = (on: Pick<Pool, 'query'>, locking: boolean): ProjectionKv => ({
    get: async (space, key) =>
      (await on.query<{ value: string | null }>(locking ? sql.getForUpdate : sql.get, [space, key])).rows[0]
        ?.value ?? undefined,
    put: async (space, key, value) => {
      await on.query(sql.put, [space, key, value]);
    },
    delete: async (space, key) => {
      await on.query(sql.delete, [space, key]);
    },
    list: async (space, options = {}) =>
      (
        await on.query<{ key: string; value: string }>(sql.list, [
          space,
          options.after ?? '',
          options.limit ?? null,
        ])
      ).rows.map((row) => [row.key, row.value] as const),
    clear: async (prefix) => {
      await on.query(sql.clear, [prefix]);
    },
    async writeMany(entries) {
      const puts = entries.filter((entry) => entry[2] !== undefined);
      const deletes = entries.filter((entry) => entry[2] === undefined);
      if (puts.length > 0) {
        await on.query(sql.putMany, [puts.map((e) => e[0]), puts.map((e) => e[1]), puts.map((e) => e[2])]);
      }
      if (deletes.length > 0) {
        await on.query(sql.deleteMany, [deletes.map((e) => e[0]), deletes.map((e) => e[1])]);
      }
    },
  });
  let savepoints = 0;
  const on = (client: PoolClient): ProjectionTransaction<PoolClient> => ({
    tx: client,
    kv: kvOn(client, true),
    async isolate(work) {
      savepoints += 1;
      const name = `tidings_sp_${savepoints}`;
      await client.query(`SAVEPOINT ${name}`);
      try {
        const result = await work();
        await client.query(`RELEASE SAVEPOINT ${name}`);
        return result;
      } catch (error) {
        await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
        throw error;
      }
    },
    async lock(names, mode) {
      if (names.length === 0) return;
      const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
      await client.query(`SELECT ${fn}(hashtextextended($1 || ':' || n, 0)) FROM unnest($2::text[]) AS n`, [
        source.schema,
        [...names].sort(),
      ]);
    },
    readAll: (after, types, limit) => source.readPage(client, after, types, limit),
    transient: isTransient,
  });
  const listeners = new Set<() => void>();
  const reader = kvOn(source.pool, false);
  return {
    mode: 'async',
    on,
    ready,
    async transaction(work) {
      await ready();
      return source.transaction(async (client) => work(on(client)));
    },
    reader: {
      get: async (space, key) => {
        await ready();
        return reader.get(space, key);
      },
      list: async (space, options) => {
        await ready();
        return reader.list(space, options);
      },
    },
    async countEvents(after, types) {
      // Counted over the whole log: positions are composite here, and the count only sizes a progress bar.
      if (after !== undefined && after !== '') return undefined;
      await ready();
      const { rows } = await source.pool.query<{ n: number }>(sql.count, [types]);
      return rows[0]?.n;
    },
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify() {
      for (const listener of listeners) listener();
    },
  };
}
