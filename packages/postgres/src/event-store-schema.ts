import type { Pool } from 'pg';
import { runMigrations } from './schema.ts';

/**
 * The event store's tables, as numbered migrations of their own (`$S` is the quoted schema): a schema may
 * hold only the transport, only the store, or both. Their version is kept in the `meta` table the
 * transport uses, under its own name. Never edit a released migration: append a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- One row per stream that was ever appended to (or deleted): its version, what reads hide, the
  -- tombstone, and the last recording time. An append locks this row, which serializes the writers of
  -- one stream; writers of different streams never wait for each other.
  CREATE TABLE $S.es_streams (
    stream text PRIMARY KEY,
    version bigint NOT NULL DEFAULT 0,
    truncate_before bigint NOT NULL DEFAULT 1,
    tombstoned boolean NOT NULL DEFAULT false,
    last_recorded_at bigint NOT NULL DEFAULT 0
  );

  -- The log. The global order is (transaction_id, id): the writing transaction's 64-bit id, then a
  -- sequence within it. seq alone is NOT commit order (a slow transaction commits a low number late);
  -- readers only take rows whose transaction_id is below the oldest transaction still running, a prefix
  -- of the log that can no longer change. data is text, not jsonb, so it comes back exactly as written.
  CREATE TABLE $S.es_events (
    id bigserial NOT NULL,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream text NOT NULL,
    version bigint NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    schema_version integer NOT NULL,
    recorded_at bigint NOT NULL,
    source text NOT NULL,
    time text NOT NULL,
    subject text,
    correlation_id text NOT NULL,
    causation_id text,
    extensions text,
    data text NOT NULL,
    PRIMARY KEY (transaction_id, id)
  );
  CREATE UNIQUE INDEX es_events_stream_version ON $S.es_events (stream, version);
  -- Event ids are unique per stream: a retried append finds its events here instead of storing them twice.
  CREATE UNIQUE INDEX es_events_stream_event_id ON $S.es_events (stream, event_id);

  -- The latest snapshot per stream and key (the key names the code that folded the state).
  CREATE TABLE $S.es_snapshots (
    stream text NOT NULL,
    key text NOT NULL,
    version bigint NOT NULL,
    base_version bigint NOT NULL,
    recorded_at text NOT NULL,
    state text NOT NULL,
    PRIMARY KEY (stream, key)
  );
  `,
  `
  -- listStreams pages through stream names in code point order, which is the "C" collation whatever
  -- the database's default is; the primary key sorts by the default, so the listing needs its own index.
  CREATE INDEX es_streams_name ON $S.es_streams (stream COLLATE "C");

  -- Where each subscription to the global order stands (store.checkpoints), by reader name. position is
  -- the store's fixed-width position text, compared in the "C" collation so that text order is log order
  -- and a save can refuse to go back. updated_at: ms from the store's clock, for operators.
  CREATE TABLE $S.es_checkpoints (
    name text PRIMARY KEY,
    position text COLLATE "C" NOT NULL,
    updated_at bigint NOT NULL
  );
  `,
];

/** The event store schema version this release writes. */
export const EVENT_STORE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the event store tables to {@link EVENT_STORE_SCHEMA_VERSION} in one transaction, under the
 * same advisory lock as the transport's migration, so processes starting at once migrate it exactly once.
 *
 * @throws TidingsError `TIDINGS_UNSUPPORTED` when a newer release migrated the schema.
 * @internal
 */
export function migrateEventStore(pool: Pool, schema: string): Promise<void> {
  return runMigrations(pool, schema, {
    versionName: 'event_store_schema_version',
    what: 'event store schema',
    migrations: MIGRATIONS,
  });
}
