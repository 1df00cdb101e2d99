import { invalidOptions, systemClock, TidingsError } from '@tidings/core';
import type { Clock, InboxStore } from '@tidings/core';
import { openDatabase } from './database.ts';
import { promised } from './promised.ts';
import { databaseProblems } from './options.ts';
import type { SqliteDatabaseOptions } from './options.ts';

/** Options of {@link sqliteInbox}. */
export type SqliteInboxOptions = SqliteDatabaseOptions & {
  /** How long a key is remembered when `add` is given no expiry, in ms (default 7 days). */
  readonly retentionMs?: number;
  /** Where "now" comes from (default the system clock). */
  readonly clock?: Clock;
};

/** The keys of messages already handled: an {@link InboxStore} for the core's `idempotent` middleware. */
export interface SqliteInbox extends InboxStore {
  /** Whether `key` was added and has not expired by `now` (default the clock's now). */
  has(key: string, now?: number): Promise<boolean>;
  /** Remembers `key` until `expiresAt` (ms since the epoch; default now + `retentionMs`). */
  add(key: string, expiresAt?: number): Promise<void>;
  /** Forgets the keys expired at `now` (default the clock's now); returns how many. `add` also prunes now and then. */
  prune(now?: number): Promise<number>;
  /** Closes the database if the inbox opened it. */
  close(): Promise<void>;
}

const INBOX_KEYS = new Set(['file', 'database', 'retentionMs', 'clock']);
const DEFAULT_INBOX_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * An idempotency inbox in SQLite. On the transport's database (`{ database: transport.database }`) it
 * shares the file and its WAL settings; on the application's database, its writes can join the
 * handler's own transaction.
 *
 * @example
 * const transport = sqliteTransport({ file: 'shop.db' });
 * const inbox = sqliteInbox({ database: transport.database });
 * await bus.subscribe({ group: 'billing', handlers, middleware: [idempotent({ store: inbox })] });
 */
export function sqliteInbox(options: SqliteInboxOptions): SqliteInbox {
  const raw = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>;
  const problems = databaseProblems(raw);
  for (const key of Object.keys(raw))
    if (!INBOX_KEYS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  const retention = raw.retentionMs;
  if (
    retention !== undefined &&
    !(typeof retention === 'number' && Number.isFinite(retention) && retention > 0)
  ) {
    problems.push(
      `retentionMs must be a finite number > 0 (got ${typeof retention === 'number' ? retention : typeof retention})`,
    );
  }
  const clockOption = raw.clock as Partial<Clock> | undefined;
  if (
    clockOption !== undefined &&
    (typeof clockOption?.now !== 'function' || typeof clockOption.sleep !== 'function')
  ) {
    problems.push('clock must have now() and sleep(ms, signal)');
  }
  if (problems.length > 0) throw invalidOptions('sqliteInbox', problems);

  const clock = options.clock ?? systemClock;
  const retentionMs = options.retentionMs ?? DEFAULT_INBOX_RETENTION_MS;
  const owned = options.file !== undefined;
  const { db } = openDatabase(options, owned ? { synchronous: 'NORMAL', busyTimeoutMs: 5000 } : {});
  const lookup = db
    .prepare<[string, number], number>('SELECT 1 FROM tidings_inbox WHERE key = ? AND expires_at > ?')
    .pluck();
  const upsert = db.prepare(
    `INSERT INTO tidings_inbox (key, expires_at) VALUES (?, ?)
     ON CONFLICT (key) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
  );
  const remove = db.prepare('DELETE FROM tidings_inbox WHERE expires_at <= ?');
  const removeSome = db.prepare(
    'DELETE FROM tidings_inbox WHERE key IN (SELECT key FROM tidings_inbox WHERE expires_at <= ? LIMIT 1000)',
  );
  let closed = false;
  let adds = 0;

  const ensureOpen = (): void => {
    if (closed || !db.open)
      throw new TidingsError('TIDINGS_CLOSED', 'The sqlite inbox is closed; create a new one.');
  };

  return {
    has: (key, now) =>
      promised(() => {
        ensureOpen();
        return lookup.get(key, now ?? clock.now()) !== undefined;
      }),
    add: (key, expiresAt) =>
      promised(() => {
        ensureOpen();
        upsert.run(key, expiresAt ?? clock.now() + retentionMs);
        // Amortised, bounded clean-up: a busy inbox never grows without limit, nor stalls on a big prune.
        adds += 1;
        if (adds % 1000 === 0) removeSome.run(clock.now());
      }),
    prune: (now) =>
      promised(() => {
        ensureOpen();
        return remove.run(now ?? clock.now()).changes;
      }),
    close: () =>
      promised(() => {
        if (closed) return;
        closed = true;
        if (owned) db.close();
      }),
  };
}
