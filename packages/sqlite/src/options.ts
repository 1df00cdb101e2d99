import type Database from 'better-sqlite3';
import { invalidOptions, systemClock } from '@tidings/core';
import type { Clock, ConsumeOptions } from '@tidings/core';

/** Where an error reported to `onError` happened, and on which delivery when there is one. */
export interface SqliteErrorContext {
  /** `handler`: a handler threw (the delivery is nacked); the others are database work the loop retries. */
  readonly where: 'handler' | 'claim' | 'settle' | 'cleanup' | 'release';
  readonly channel?: string | undefined;
  readonly group?: string | undefined;
  readonly messageId?: string | undefined;
}

/** Options shared by everything that opens or borrows a database. */
export type SqliteDatabaseOptions =
  | {
      /** A database file (created when missing); `':memory:'` gives a private database, for tests. */
      readonly file: string;
      readonly database?: never;
    }
  | {
      /** A database the application opened; it stays open when the transport closes. */
      readonly database: Database.Database;
      readonly file?: never;
    };

/** Options of {@link sqliteTransport}. */
export type SqliteTransportOptions = SqliteDatabaseOptions & {
  /**
   * How often an idle consumer looks for work published by other processes, in ms (default 25).
   * Publishes of the same transport wake its consumers at once.
   */
  readonly pollIntervalMs?: number;
  /** Where every time comes from (default the system clock); tests pass a manual clock. */
  readonly clock?: Clock;
  /** `PRAGMA synchronous` (default `NORMAL` for a file the transport opens; WAL makes it safe). */
  readonly synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another process's write to finish, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /** How long a message that every group has settled is kept, in ms (default one hour). */
  readonly retentionMs?: number;
  /** Receives errors the consumer loop survived (default: `console.error`). */
  readonly onError?: (error: unknown, context: SqliteErrorContext) => void;
};

/** The options with every default filled in. @internal */
export interface ResolvedTransportOptions {
  readonly pollIntervalMs: number;
  readonly clock: Clock;
  /** Undefined when the application's database is used as it was configured. */
  readonly synchronous: 'NORMAL' | 'FULL' | undefined;
  readonly busyTimeoutMs: number | undefined;
  readonly retentionMs: number;
  readonly onError: (error: unknown, context: SqliteErrorContext) => void;
}

/** Defaults of {@link SqliteTransportOptions}. */
export const SQLITE_DEFAULTS = {
  pollIntervalMs: 25,
  synchronous: 'NORMAL',
  busyTimeoutMs: 5000,
  retentionMs: 60 * 60 * 1000,
} as const;

const TRANSPORT_KEYS = new Set([
  'file',
  'database',
  'pollIntervalMs',
  'clock',
  'synchronous',
  'busyTimeoutMs',
  'retentionMs',
  'onError',
]);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** Problems with the `file` / `database` pair, as sentences. @internal */
export function databaseProblems(options: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const { file, database } = options;
  if (file !== undefined && database !== undefined) {
    problems.push('pass either file or database, not both');
  } else if (file === undefined && database === undefined) {
    problems.push("file or database is required; pass { file: 'app.db' } (or ':memory:' in tests)");
  } else if (file !== undefined && (typeof file !== 'string' || file.length === 0)) {
    problems.push(`file must be a non-empty path (got ${describe(file)})`);
  } else if (database !== undefined) {
    if (
      !isRecord(database) ||
      typeof database.prepare !== 'function' ||
      typeof database.transaction !== 'function'
    ) {
      problems.push(`database must be a better-sqlite3 Database (got ${describe(database)})`);
    } else if (database.open !== true) {
      problems.push('database is closed; pass an open better-sqlite3 Database');
    }
  }
  return problems;
}

function numberProblem(
  name: string,
  value: unknown,
  { min, integer, exclusive }: { min: number; integer?: boolean; exclusive?: boolean },
): string | undefined {
  if (value === undefined) return undefined;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (exclusive ? value > min : value >= min) &&
    (!integer || Number.isInteger(value));
  if (ok) return undefined;
  const kind = integer ? 'an integer' : 'a finite number';
  return `${name} must be ${kind} ${exclusive ? '>' : '>='} ${min} (got ${describe(value)})`;
}

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(options: SqliteTransportOptions): ResolvedTransportOptions {
  if (!isRecord(options))
    throw invalidOptions('sqliteTransport', [`options must be an object (got ${describe(options)})`]);
  const raw = options as Record<string, unknown>;
  const problems = databaseProblems(raw);
  for (const key of Object.keys(raw)) {
    if (!TRANSPORT_KEYS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  }
  const push = (problem: string | undefined): void => {
    if (problem !== undefined) problems.push(problem);
  };
  push(numberProblem('pollIntervalMs', raw.pollIntervalMs, { min: 0, exclusive: true }));
  push(numberProblem('busyTimeoutMs', raw.busyTimeoutMs, { min: 0, integer: true }));
  push(numberProblem('retentionMs', raw.retentionMs, { min: 0 }));
  if (raw.synchronous !== undefined && raw.synchronous !== 'NORMAL' && raw.synchronous !== 'FULL') {
    problems.push(`synchronous must be 'NORMAL' or 'FULL' (got ${describe(raw.synchronous)})`);
  }
  const clock = raw.clock;
  if (
    clock !== undefined &&
    (!isRecord(clock) || typeof clock.now !== 'function' || typeof clock.sleep !== 'function')
  ) {
    problems.push(`clock must have now() and sleep(ms, signal) (got ${describe(clock)})`);
  }
  if (raw.onError !== undefined && typeof raw.onError !== 'function') {
    problems.push(`onError must be a function (got ${describe(raw.onError)})`);
  }
  if (problems.length > 0) throw invalidOptions('sqliteTransport', problems);

  // A file we open gets the production defaults; a borrowed database keeps its own settings unless told.
  const owned = options.file !== undefined;
  return {
    pollIntervalMs: options.pollIntervalMs ?? SQLITE_DEFAULTS.pollIntervalMs,
    clock: options.clock ?? systemClock,
    synchronous: options.synchronous ?? (owned ? SQLITE_DEFAULTS.synchronous : undefined),
    busyTimeoutMs: options.busyTimeoutMs ?? (owned ? SQLITE_DEFAULTS.busyTimeoutMs : undefined),
    retentionMs: options.retentionMs ?? SQLITE_DEFAULTS.retentionMs,
    onError: options.onError ?? defaultOnError,
  };
}

function defaultOnError(error: unknown, context: SqliteErrorContext): void {
  const where = [context.where, context.group, context.channel, context.messageId].filter(Boolean).join(' ');
  console.error(`[@tidings/sqlite] ${where}:`, error);
}

/**
 * Checks what a consumer asks for, and its handler.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown): void {
  if (!isRecord(options))
    throw invalidOptions('sqliteTransport.consume', [`options must be an object (got ${describe(options)})`]);
  const raw = options as unknown as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof handler !== 'function') problems.push(`handler must be a function (got ${describe(handler)})`);
  for (const name of ['channel', 'group'] as const) {
    const value = raw[name];
    if (typeof value !== 'string' || value.length === 0)
      problems.push(`${name} must be a non-empty string (got ${describe(value)})`);
  }
  const topics = raw.topics;
  if (!Array.isArray(topics) || topics.length === 0) {
    problems.push(`topics must be a non-empty array of topic names (got ${describe(topics)})`);
  } else {
    topics.forEach((topic, index) => {
      if (typeof topic !== 'string' || topic.length === 0) {
        problems.push(`topics[${index}] must be a non-empty string (got ${describe(topic)})`);
      }
    });
  }
  const concurrency = numberProblem('concurrency', raw.concurrency, { min: 1, integer: true });
  if (raw.concurrency === undefined) problems.push('concurrency is required (an integer >= 1)');
  else if (concurrency !== undefined) problems.push(concurrency);
  const lease = numberProblem('leaseMs', raw.leaseMs, { min: 0, exclusive: true });
  if (raw.leaseMs === undefined) problems.push('leaseMs is required (a number > 0)');
  else if (lease !== undefined) problems.push(lease);
  if (typeof raw.ordered !== 'boolean')
    problems.push(`ordered must be a boolean (got ${describe(raw.ordered)})`);
  if (problems.length > 0) throw invalidOptions('sqliteTransport.consume', problems);
}
