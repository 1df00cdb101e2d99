import type Database from 'better-sqlite3';
import {
  checkConsumeOptions as checkCommonConsumeOptions,
  checkOptions,
  consoleErrorReporter,
  describeValue,
  isRecord,
  numberProblem,
  systemClock,
} from '@tidings/core';
import type { Clock, ConsumeOptions, ErrorReportContext } from '@tidings/core';

/** Where an error reported to `onError` happened, and on which delivery when there is one. */
export interface SqliteErrorContext extends ErrorReportContext {
  /** `handler`: a handler threw (the delivery is nacked); the others are database work the loop retries. */
  readonly where: 'handler' | 'claim' | 'settle' | 'cleanup' | 'release';
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

/** Problems with the `file` / `database` pair, as sentences. @internal */
export function databaseProblems(options: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const { file, database } = options;
  if (file !== undefined && database !== undefined) {
    problems.push('pass either file or database, not both');
  } else if (file === undefined && database === undefined) {
    problems.push("file or database is required; pass { file: 'app.db' } (or ':memory:' in tests)");
  } else if (file !== undefined && (typeof file !== 'string' || file.length === 0)) {
    problems.push(`file must be a non-empty path (got ${describeValue(file)})`);
  } else if (database !== undefined) {
    if (
      !isRecord(database) ||
      typeof database.prepare !== 'function' ||
      typeof database.transaction !== 'function'
    ) {
      problems.push(`database must be a better-sqlite3 Database (got ${describeValue(database)})`);
    } else if (database.open !== true) {
      problems.push('database is closed; pass an open better-sqlite3 Database');
    }
  }
  return problems;
}

const defaultOnError = consoleErrorReporter('@tidings/sqlite');

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(options: SqliteTransportOptions): ResolvedTransportOptions {
  checkOptions('sqliteTransport', options, {
    known: TRANSPORT_KEYS,
    problems: (raw) => [
      ...databaseProblems(raw),
      numberProblem('pollIntervalMs', raw.pollIntervalMs, { min: 0, exclusive: true }),
      numberProblem('busyTimeoutMs', raw.busyTimeoutMs, { min: 0, integer: true }),
      numberProblem('retentionMs', raw.retentionMs, { min: 0 }),
      raw.synchronous === undefined || raw.synchronous === 'NORMAL' || raw.synchronous === 'FULL'
        ? undefined
        : `synchronous must be 'NORMAL' or 'FULL' (got ${describeValue(raw.synchronous)})`,
    ],
  });

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

/**
 * Checks what a consumer asks for, and its handler.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown): void {
  checkCommonConsumeOptions('sqliteTransport.consume', options, handler);
}
