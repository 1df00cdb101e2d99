import type { Pool } from 'pg';
import {
  checkConsumeOptions as checkCommonConsumeOptions,
  checkOptions,
  consoleErrorReporter,
  describeValue,
  isRecord,
  numberProblem,
  stringProblem,
  systemClock,
} from '@tidings/core';
import type { Clock, ConsumeOptions, ErrorReportContext } from '@tidings/core';

/** Where an error reported to `onError` happened, and on which delivery when there is one. */
export interface PostgresErrorContext extends ErrorReportContext {
  /**
   * `handler`: a handler threw (the delivery is nacked); `listen`: the wake-up connection dropped;
   * `connection`: an idle pooled connection failed (the pool replaces it); the others are database
   * work the loop retries.
   */
  readonly where: 'handler' | 'claim' | 'settle' | 'cleanup' | 'release' | 'listen' | 'connection';
}

/** How the transport reaches the database. */
export type PostgresConnectionOptions =
  | {
      /** A `postgres://` URL; the transport opens a pool and ends it on close. */
      readonly connectionString: string;
      readonly pool?: never;
    }
  | {
      /**
       * A `pg` pool the application made; it stays open when the transport closes. One client is held
       * for LISTEN. Give it a `connectionTimeoutMillis`, a `query_timeout` and an `'error'` listener:
       * without them a publish can hang while the server is away, and an idle client that loses its
       * connection crashes the process.
       */
      readonly pool: Pool;
      readonly connectionString?: never;
    };

/** Options of {@link postgresTransport}. */
export type PostgresTransportOptions = PostgresConnectionOptions & {
  /** The schema the tables live in, created when missing (default `tidings`). */
  readonly schema?: string;
  /**
   * How often an idle consumer looks for work when no notification came, in ms (default 500).
   * LISTEN/NOTIFY wakes consumers at once; polling is the fallback, and the clock of delayed retries.
   */
  readonly pollIntervalMs?: number;
  /** Where every time comes from (default the system clock); tests pass a manual clock. */
  readonly clock?: Clock;
  /** How long a message that every group has settled is kept, in ms (default one hour). */
  readonly retentionMs?: number;
  /**
   * How long getting a connection may take, in ms, for a pool the transport opens (default 2000): while
   * the server is away, a publish fails with `TIDINGS_UNAVAILABLE` after at most this long.
   */
  readonly connectTimeoutMs?: number;
  /**
   * How long a statement may wait for its answer, in ms, for a pool the transport opens (default 5000):
   * a connection that went silent (a dead network path) fails the statement and is replaced.
   */
  readonly queryTimeoutMs?: number;
  /** Receives errors the consumer loop survived (default: `console.error`). */
  readonly onError?: (error: unknown, context: PostgresErrorContext) => void;
};

/** The options with every default filled in. @internal */
export interface ResolvedTransportOptions {
  readonly schema: string;
  readonly pollIntervalMs: number;
  readonly clock: Clock;
  readonly retentionMs: number;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly onError: (error: unknown, context: PostgresErrorContext) => void;
}

/** Defaults of {@link PostgresTransportOptions}. */
export const POSTGRES_DEFAULTS = {
  schema: 'tidings',
  pollIntervalMs: 500,
  retentionMs: 60 * 60 * 1000,
  connectTimeoutMs: 2000,
  queryTimeoutMs: 5000,
} as const;

const TRANSPORT_KEYS = new Set([
  'connectionString',
  'pool',
  'schema',
  'pollIntervalMs',
  'clock',
  'retentionMs',
  'connectTimeoutMs',
  'queryTimeoutMs',
  'onError',
]);

/** The schema is written into SQL unquoted, so only a plain identifier is accepted. */
/** @internal */
export const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

const defaultOnError = consoleErrorReporter('@tidings/postgres');

/** Problems with the `connectionString` / `pool` pair, as sentences. @internal */
export function connectionProblems(raw: Record<string, unknown>): string[] {
  const { connectionString, pool } = raw;
  if (connectionString !== undefined && pool !== undefined)
    return ['pass either connectionString or pool, not both'];
  if (connectionString === undefined && pool === undefined)
    return ["connectionString or pool is required; pass { connectionString: 'postgres://…' }"];
  if (connectionString !== undefined) {
    const problem = stringProblem('connectionString', connectionString);
    return problem === undefined ? [] : [problem];
  }
  return isRecord(pool) && typeof pool.connect === 'function'
    ? []
    : [`pool must be a pg Pool (got ${describeValue(pool)})`];
}

/** Problems with the two timeouts, which only a pool the transport opens can take. @internal */
export function timeoutProblems(raw: Record<string, unknown>): (string | undefined)[] {
  return (['connectTimeoutMs', 'queryTimeoutMs'] as const).flatMap((name) => [
    numberProblem(name, raw[name], { min: 0, integer: true, exclusive: true }),
    raw[name] !== undefined && raw.pool !== undefined
      ? `${name} applies to a pool Tidings opens; set ` +
        `${name === 'connectTimeoutMs' ? 'connectionTimeoutMillis' : 'query_timeout'} on your pool instead`
      : undefined,
  ]);
}

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(options: PostgresTransportOptions): ResolvedTransportOptions {
  checkOptions('postgresTransport', options, {
    known: TRANSPORT_KEYS,
    problems: (raw) => [
      ...connectionProblems(raw),
      raw.schema === undefined || (typeof raw.schema === 'string' && SCHEMA.test(raw.schema))
        ? undefined
        : `schema must be a plain identifier of at most 41 characters (got ${describeValue(raw.schema)})`,
      numberProblem('pollIntervalMs', raw.pollIntervalMs, { min: 0, exclusive: true }),
      numberProblem('retentionMs', raw.retentionMs, { min: 0 }),
      ...timeoutProblems(raw),
    ],
  });
  return {
    schema: options.schema ?? POSTGRES_DEFAULTS.schema,
    pollIntervalMs: options.pollIntervalMs ?? POSTGRES_DEFAULTS.pollIntervalMs,
    clock: options.clock ?? systemClock,
    retentionMs: options.retentionMs ?? POSTGRES_DEFAULTS.retentionMs,
    connectTimeoutMs: options.connectTimeoutMs ?? POSTGRES_DEFAULTS.connectTimeoutMs,
    queryTimeoutMs: options.queryTimeoutMs ?? POSTGRES_DEFAULTS.queryTimeoutMs,
    onError: options.onError ?? defaultOnError,
  };
}

/**
 * Checks what a consumer asks for, and its handler.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown): void {
  checkCommonConsumeOptions('postgresTransport.consume', options, handler);
}
