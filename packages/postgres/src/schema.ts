import type { Pool } from 'pg';
import { TidingsError } from '@tidings/core';

/** Quotes an identifier; schema names are checked to be plain identifiers already. @internal */
export const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * The tables of @tidings/postgres, as numbered migrations (`$S` is the quoted schema). A migration is
 * never edited once released: a change is a new entry at the end.
 *
 * Every time is a bigint of ms from the transport's clock, passed as a parameter: SQL never calls
 * `now()`, so a test clock drives leases and delays, and the database server's clock does not matter.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- Every published message, once; deliveries point at it by seq. seq orders messages of one publish
  -- and keys, but it is NOT commit order: consumers never read it as an offset (see deliveries).
  CREATE TABLE $S.messages (
    seq bigserial PRIMARY KEY,
    id text NOT NULL,
    channel text NOT NULL,
    topic text NOT NULL,
    key text,
    published_at bigint NOT NULL,
    headers text NOT NULL,
    body bytea NOT NULL
  );
  CREATE INDEX messages_published ON $S.messages (published_at);

  -- Which groups receive which topics of a channel; written by consume(), never removed by it.
  CREATE TABLE $S.subscriptions (
    channel text NOT NULL,
    topic text NOT NULL,
    group_name text NOT NULL,
    subscribed_at bigint NOT NULL,
    ordered boolean NOT NULL DEFAULT false,
    PRIMARY KEY (channel, topic, group_name)
  );

  -- One row per message and group until the group settles it, written in the publish's transaction.
  -- Consumers claim rows (FOR UPDATE SKIP LOCKED), they never keep an offset: a row committed late
  -- by a slow transaction is simply claimable from the moment it is visible, so none is skipped.
  -- A leased row has a lease_token and available_at = the end of its lease.
  CREATE TABLE $S.deliveries (
    seq bigint NOT NULL,
    group_name text NOT NULL,
    channel text NOT NULL,
    topic text NOT NULL,
    key text,
    available_at bigint NOT NULL,
    attempt integer NOT NULL DEFAULT 0,
    tries integer NOT NULL DEFAULT 0,
    first_failed_at bigint,
    lease_token bigint,
    PRIMARY KEY (seq, group_name)
  );
  CREATE INDEX deliveries_due ON $S.deliveries (group_name, channel, available_at, seq);
  CREATE INDEX deliveries_key ON $S.deliveries (group_name, channel, key, seq) WHERE key IS NOT NULL;

  -- Dead letters keep their own copy of the message: retention cleanup never takes it away.
  CREATE TABLE $S.dead_letters (
    id text PRIMARY KEY,
    channel text NOT NULL,
    group_name text NOT NULL,
    seq bigint,
    message_id text NOT NULL,
    topic text NOT NULL,
    key text,
    headers text NOT NULL,
    handler text NOT NULL,
    error text NOT NULL,
    attempts integer NOT NULL,
    first_failed_at bigint NOT NULL,
    last_failed_at bigint NOT NULL,
    fingerprint text NOT NULL,
    reason text NOT NULL,
    dead_lettered_at bigint NOT NULL,
    body bytea NOT NULL
  );
  CREATE INDEX dead_letters_time ON $S.dead_letters (dead_lettered_at, id);
  CREATE INDEX dead_letters_group ON $S.dead_letters (group_name, dead_lettered_at, id);
  `,
];

/** The schema version this release of @tidings/postgres writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema to {@link SCHEMA_VERSION} in one transaction, under an advisory lock, so that
 * processes starting at once migrate it exactly once.
 *
 * @throws TidingsError `TIDINGS_UNSUPPORTED` when the schema was migrated by a newer release.
 */
export function migrate(pool: Pool, schema: string): Promise<void> {
  return runMigrations(pool, schema, {
    versionName: 'schema_version',
    what: '@tidings/postgres schema',
    migrations: MIGRATIONS,
  });
}

/** A set of numbered migrations whose version is kept in the schema's `meta` table under one name. @internal */
export interface MigrationSet {
  /** The `meta` row that holds how many of these migrations ran. */
  readonly versionName: string;
  /** For messages, e.g. `event store schema`. */
  readonly what: string;
  /** The SQL of each migration, `$S` standing for the quoted schema; never edit a released one. */
  readonly migrations: readonly string[];
}

/**
 * Runs the migrations of one set that have not run yet, in one transaction, under the schema's advisory
 * lock (the same for every set, so the transport and the event store never migrate at once).
 *
 * @throws TidingsError `TIDINGS_UNSUPPORTED` when a newer release already ran more of them.
 * @internal
 */
export async function runMigrations(pool: Pool, schema: string, set: MigrationSet): Promise<void> {
  const s = quote(schema);
  const supported = set.migrations.length;
  const client = await pool.connect();
  // A checked-out client has no pool listener: an 'error' between two statements would crash the process.
  const ignore = (): void => undefined;
  client.on('error', ignore);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tidings:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.meta (name text PRIMARY KEY, value integer NOT NULL)`,
    );
    const found = await client.query<{ value: number }>(`SELECT value FROM ${s}.meta WHERE name = $1`, [
      set.versionName,
    ]);
    const from = found.rows[0]?.value ?? 0;
    if (from > supported) {
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `The schema "${schema}" has ${set.what} version ${from}, newer than the ${supported} this release ` +
          'of @tidings/postgres knows. Upgrade @tidings/postgres in this process.',
        { details: { found: from, supported } },
      );
    }
    for (const sql of set.migrations.slice(from)) await client.query(sql.replaceAll('$S', s));
    await client.query(
      `INSERT INTO ${s}.meta (name, value) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      [set.versionName, supported],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.removeListener('error', ignore);
    client.release();
  }
}
