import type Database from 'better-sqlite3';
import { TidingsError } from '@tidings/core';

/**
 * The event store's tables, as numbered migrations of their own (the transport's live in schema.ts):
 * a database may hold only the transport, only the store, or both. Never edit a released migration.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- Settings of the streams that have any: what reads hide, and the tombstone. A stream's version is
  -- not kept here but read from its newest event, so an append writes nothing but its events.
  CREATE TABLE tidings_streams (
    stream TEXT PRIMARY KEY,
    truncate_before INTEGER NOT NULL DEFAULT 1,
    tombstoned INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;

  -- The log. position is the global order. SQLite admits one writer at a time and gives a new row the
  -- largest rowid + 1, so positions are handed out in commit order. That holds only because events are
  -- never deleted (truncation and deletion hide them): whatever removes rows one day must keep the
  -- newest, or switch to AUTOINCREMENT, which costs a write per row. data is the last column, so scans
  -- that skip it do not read it.
  CREATE TABLE tidings_events (
    position INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    time TEXT NOT NULL,
    subject TEXT,
    correlation_id TEXT NOT NULL,
    causation_id TEXT,
    extensions TEXT,
    data TEXT NOT NULL
  );
  CREATE UNIQUE INDEX tidings_events_stream_version ON tidings_events (stream, version);
  -- Event ids are unique per stream: a retried append finds its events here instead of storing them twice.
  CREATE UNIQUE INDEX tidings_events_stream_id ON tidings_events (stream, id);

  -- The latest snapshot per stream and key (the key names the code that folded the state).
  CREATE TABLE tidings_snapshots (
    stream TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    base_version INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (stream, key)
  ) WITHOUT ROWID;
  `,
  `
  -- Where each subscription to the global order stands (store.checkpoints), by reader name. position is
  -- the store's zero-padded position text, so text order is log order and a save can refuse to go back.
  -- updated_at: ms from the store's clock, for operators asking how long a reader has been stuck.
  CREATE TABLE tidings_checkpoints (
    name TEXT PRIMARY KEY,
    position TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];

/** The event store schema version this release writes. */
export const EVENT_STORE_SCHEMA_VERSION = MIGRATIONS.length;

const META_NAME = 'event_store_schema_version';

function currentVersion(db: Database.Database): number {
  return (
    db.prepare<[string], number>('SELECT value FROM tidings_meta WHERE name = ?').pluck().get(META_NAME) ?? 0
  );
}

/**
 * Brings the event store tables to {@link EVENT_STORE_SCHEMA_VERSION} in one immediate transaction, so
 * processes opening the file at once migrate it exactly once. Runs after the transport's migration,
 * which creates `tidings_meta`.
 *
 * @throws TidingsError `TIDINGS_UNSUPPORTED` when a newer release migrated the database.
 */
export function migrateEventStore(db: Database.Database): void {
  if (currentVersion(db) === EVENT_STORE_SCHEMA_VERSION) return;
  db.transaction(() => {
    const from = currentVersion(db);
    if (from > EVENT_STORE_SCHEMA_VERSION) {
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `The database "${db.name}" has event store schema version ${from}, newer than the ` +
          `${EVENT_STORE_SCHEMA_VERSION} this release of @tidings/sqlite knows. Upgrade @tidings/sqlite in this process.`,
        { details: { found: from, supported: EVENT_STORE_SCHEMA_VERSION } },
      );
    }
    for (const sql of MIGRATIONS.slice(from)) db.exec(sql);
    db.prepare('INSERT OR REPLACE INTO tidings_meta (name, value) VALUES (?, ?)').run(
      META_NAME,
      EVENT_STORE_SCHEMA_VERSION,
    );
  }).immediate();
}
