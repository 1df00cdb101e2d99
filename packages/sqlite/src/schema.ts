import type Database from 'better-sqlite3';
import { TidingsError } from '@tidings/core';

/**
 * The tables of @tidings/sqlite, as numbered migrations. A migration is never edited once released: a
 * change is a new entry at the end.
 *
 * The version lives in `tidings_meta`, not in `PRAGMA user_version`: the database is often the
 * application's own (the `database` option, the inbox in the handler's transaction), and its migration
 * tool may own `user_version` already.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- Every published message, once; deliveries point at it by seq. The body is the last column so that
  -- scanning the table (cleanup) does not read large bodies. No AUTOINCREMENT: a seq is only reused
  -- after its message and all its deliveries are gone, and it saves a page write per commit.
  CREATE TABLE tidings_messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    topic TEXT NOT NULL,
    key TEXT,
    published_at INTEGER NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL
  );

  -- Which groups receive which topics of a channel; written by consume(), never removed by it, so a
  -- group keeps receiving while none of its members runs. \`ordered\` is the last consumer's choice.
  CREATE TABLE tidings_subscriptions (
    channel TEXT NOT NULL,
    topic TEXT NOT NULL,
    group_name TEXT NOT NULL,
    subscribed_at INTEGER NOT NULL,
    ordered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, topic, group_name)
  ) WITHOUT ROWID;

  -- One row per message and group until the group settles it. A leased row has a lease_token and
  -- available_at = the end of its lease, so "claimable" is simply available_at <= now, and the due
  -- index serves new messages, delayed retries and expired leases alike. \`key\` is set only for
  -- groups that consume in order: only they pay for the key index, whose pages every ack touches.
  CREATE TABLE tidings_deliveries (
    seq INTEGER NOT NULL,
    group_name TEXT NOT NULL,
    channel TEXT NOT NULL,
    topic TEXT NOT NULL,
    key TEXT,
    available_at INTEGER NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    tries INTEGER NOT NULL DEFAULT 0,
    first_failed_at INTEGER,
    lease_token INTEGER,
    PRIMARY KEY (seq, group_name)
  ) WITHOUT ROWID;
  CREATE INDEX tidings_deliveries_due ON tidings_deliveries (group_name, channel, available_at, seq, topic);
  CREATE INDEX tidings_deliveries_key ON tidings_deliveries (group_name, channel, key, seq, topic)
    WHERE key IS NOT NULL;

  -- Dead letters keep their own copy of the message: retention cleanup never takes it away.
  CREATE TABLE tidings_dead_letters (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    group_name TEXT NOT NULL,
    seq INTEGER,
    message_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    key TEXT,
    headers TEXT NOT NULL,
    handler TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_failed_at INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    reason TEXT NOT NULL,
    dead_lettered_at INTEGER NOT NULL,
    body BLOB NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX tidings_dead_letters_time ON tidings_dead_letters (dead_lettered_at, id);
  CREATE INDEX tidings_dead_letters_group ON tidings_dead_letters (group_name, dead_lettered_at, id);

  -- Keys of messages already handled (the idempotency inbox).
  CREATE TABLE tidings_inbox (
    key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX tidings_inbox_expiry ON tidings_inbox (expires_at);
  `,
];

/** The schema version this release of @tidings/sqlite writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

function currentVersion(db: Database.Database): number {
  const exists = db
    .prepare<[], number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tidings_meta'")
    .pluck()
    .get();
  if (exists === 0) return 0;
  const version = db
    .prepare<[], number>("SELECT value FROM tidings_meta WHERE name = 'schema_version'")
    .pluck()
    .get();
  return version ?? 0;
}

/**
 * Brings the database to {@link SCHEMA_VERSION}, in one immediate transaction so that processes opening
 * the same file at once migrate it exactly once.
 *
 * @throws TidingsError `TIDINGS_UNSUPPORTED` when the database was migrated by a newer release.
 */
export function migrate(db: Database.Database): void {
  if (currentVersion(db) === SCHEMA_VERSION) return;
  db.transaction(() => {
    const from = currentVersion(db);
    if (from > SCHEMA_VERSION) {
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `The database "${db.name}" has @tidings/sqlite schema version ${from}, newer than the ${SCHEMA_VERSION} ` +
          'this release knows. Upgrade @tidings/sqlite in this process.',
        { details: { found: from, supported: SCHEMA_VERSION } },
      );
    }
    db.exec(
      'CREATE TABLE IF NOT EXISTS tidings_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID',
    );
    for (const sql of MIGRATIONS.slice(from)) db.exec(sql);
    db.prepare("INSERT OR REPLACE INTO tidings_meta (name, value) VALUES ('schema_version', ?)").run(
      SCHEMA_VERSION,
    );
  }).immediate();
}
