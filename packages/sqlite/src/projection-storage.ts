import type Database from 'better-sqlite3';
import {
  callProjectionHook,
  type ProjectionKv,
  type ProjectionRead,
  type ProjectionStorage,
  type ProjectionTransaction,
  parseSequencePosition,
  TidingsError,
} from '@tidings/core';
import { EVENT_COLUMNS, type EventRow } from './event-store-rows.ts';

const MIGRATIONS: readonly string[] = [
  `
  -- Projection bookkeeping (state, paused streams, dead letters) and document read models, as one
  -- key-value table in spaces: written in the same transaction as the appends and checkpoints.
  CREATE TABLE tidings_projection_kv (
    space TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (space, key)
  ) WITHOUT ROWID;
  `,
];

const META_NAME = 'projection_schema_version';
/** Sorts after every string that starts with a prefix (the largest code point). */
const AFTER_ALL = '\u{10FFFF}';

/** Brings the projection table up to date, once per file, in an immediate transaction. @internal */
export function migrateProjections(db: Database.Database): void {
  const current = (): number =>
    db.prepare<[string], number>('SELECT value FROM tidings_meta WHERE name = ?').pluck().get(META_NAME) ?? 0;
  if (current() === MIGRATIONS.length) return;
  db.transaction(() => {
    const from = current();
    if (from > MIGRATIONS.length) {
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `The database "${db.name}" has projection schema version ${from}, newer than this @tidings/sqlite knows (${MIGRATIONS.length}). Upgrade @tidings/sqlite.`,
      );
    }
    for (const sql of MIGRATIONS.slice(from)) db.exec(sql);
    db.prepare('INSERT OR REPLACE INTO tidings_meta (name, value) VALUES (?, ?)').run(
      META_NAME,
      MIGRATIONS.length,
    );
  }).immediate();
}

/** What the store gives its projection storage: its own page reader and row decoding. @internal */
export interface SqliteProjectionSource {
  /** A page of the global order of these types, read in the caller's transaction. */
  readonly readPage: (after: string | undefined, types: readonly string[], limit: number) => ProjectionRead;
  /** Decodes a row, or returns it as unreadable instead of throwing. */
  readonly lenient: (row: EventRow) => ProjectionRead['items'][number];
}

/** The SQLite projection storage, plus what the store itself needs from it. @internal */
export interface SqliteProjectionStorage extends ProjectionStorage<Database.Database> {
  /** The transaction an append is already in, for its inline projections. */
  readonly current: ProjectionTransaction<Database.Database>;
  /** The events an append just wrote (positions after `after`, up to `to`), read as projections see them. */
  readRange(after: number, to: number): ProjectionRead['items'];
  /** Tells the runners in this process that an append committed. */
  notify(): void;
}

/**
 * Projections on SQLite: the key-value table and the store's events on the same connection, in
 * immediate transactions (better-sqlite3 is synchronous, so `apply` must be too); savepoints isolate
 * one event's writes.
 * @internal
 */
export function sqliteProjectionStorage(
  db: Database.Database,
  source: SqliteProjectionSource,
): SqliteProjectionStorage {
  const sql = {
    get: db
      .prepare<[string, string], string>(
        'SELECT value FROM tidings_projection_kv WHERE space = ? AND key = ?',
      )
      .pluck(),
    put: db.prepare<[string, string, string]>(
      'INSERT INTO tidings_projection_kv (space, key, value) VALUES (?, ?, ?) ' +
        'ON CONFLICT (space, key) DO UPDATE SET value = excluded.value',
    ),
    delete: db.prepare<[string, string]>('DELETE FROM tidings_projection_kv WHERE space = ? AND key = ?'),
    list: db
      .prepare<[string, string, number], [string, string]>(
        'SELECT key, value FROM tidings_projection_kv WHERE space = ? AND key > ? ORDER BY key LIMIT ?',
      )
      .raw(),
    clear: db.prepare<[string, string]>('DELETE FROM tidings_projection_kv WHERE space >= ? AND space < ?'),
    range: db
      .prepare<[number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM tidings_events WHERE position > ? AND position <= ? ORDER BY position`,
      )
      .raw(),
    count: db
      .prepare<[number, string], number>(
        'SELECT count(*) FROM tidings_events WHERE position > ? AND type IN (SELECT value FROM json_each(?))',
      )
      .pluck(),
  };
  const { lenient } = source;

  const kv: ProjectionKv = {
    get: (space, key) => sql.get.get(space, key),
    put: (space, key, value) => {
      sql.put.run(space, key, value);
    },
    delete: (space, key) => {
      sql.delete.run(space, key);
    },
    list: (space, options = {}) => sql.list.all(space, options.after ?? '', options.limit ?? -1),
    clear: (prefix) => {
      sql.clear.run(prefix, prefix + AFTER_ALL);
    },
  };
  const current: ProjectionTransaction<Database.Database> = {
    tx: db,
    kv,
    isolate: (work) => db.transaction(() => callProjectionHook('sync', 'savepoint', work))(),
    lock: () => undefined,
    readAll: (after, types, limit) => source.readPage(after, types, limit),
  };
  const listeners = new Set<() => void>();
  return {
    mode: 'sync',
    current,
    transaction: (work) =>
      new Promise((resolve) => {
        resolve(
          db.transaction(() => callProjectionHook('sync', 'transaction', () => work(current))).immediate(),
        );
      }),
    reader: {
      get: (space, key) => Promise.resolve(kv.get(space, key)),
      list: (space, options) => Promise.resolve(kv.list(space, options)),
    },
    countEvents: (after, types) =>
      Promise.resolve(sql.count.get(parseSequencePosition('countEvents', after), JSON.stringify(types)) ?? 0),
    readRange: (after, to) => sql.range.all(after, to).map(lenient),
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify() {
      for (const listener of listeners) listener();
    },
  };
}
