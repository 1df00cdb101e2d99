import type { Pool } from 'pg';
import { invalidOptions, systemClock } from '@tidings/core';
import type { Clock, ConsumeOptions } from '@tidings/core';

/** Where an error reported to `onError` happened, and on which delivery when there is one. */
export interface PostgresErrorContext {
  /**
   * `handler`: a handler threw (the delivery is nacked); `listen`: the wake-up connection dropped;
   * `connection`: an idle pooled connection failed (the pool replaces it); the others are database
   * work the loop retries.
   */
  readonly where: 'handler' | 'claim' | 'settle' | 'cleanup' | 'release' | 'listen' | 'connection';
  readonly channel?: string | undefined;
  readonly group?: string | undefined;
  readonly messageId?: string | undefined;
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

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

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
export function resolveTransportOptions(options: PostgresTransportOptions): ResolvedTransportOptions {
  if (!isRecord(options))
    throw invalidOptions('postgresTransport', [`options must be an object (got ${describe(options)})`]);
  const raw = options as Record<string, unknown>;
  const problems: string[] = [];
  const { connectionString, pool } = raw;
  if (connectionString !== undefined && pool !== undefined) {
    problems.push('pass either connectionString or pool, not both');
  } else if (connectionString === undefined && pool === undefined) {
    problems.push("connectionString or pool is required; pass { connectionString: 'postgres://…' }");
  } else if (
    connectionString !== undefined &&
    (typeof connectionString !== 'string' || connectionString === '')
  ) {
    problems.push(`connectionString must be a non-empty string (got ${describe(connectionString)})`);
  } else if (pool !== undefined && (!isRecord(pool) || typeof pool.connect !== 'function')) {
    problems.push(`pool must be a pg Pool (got ${describe(pool)})`);
  }
  for (const key of Object.keys(raw)) {
    if (!TRANSPORT_KEYS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  }
  if (
    raw.schema !== undefined &&
    (typeof raw.schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(raw.schema))
  ) {
    problems.push(`schema must be a plain identifier of at most 41 characters (got ${describe(raw.schema)})`);
  }
  const push = (problem: string | undefined): void => {
    if (problem !== undefined) problems.push(problem);
  };
  push(numberProblem('pollIntervalMs', raw.pollIntervalMs, { min: 0, exclusive: true }));
  push(numberProblem('retentionMs', raw.retentionMs, { min: 0 }));
  for (const name of ['connectTimeoutMs', 'queryTimeoutMs'] as const) {
    push(numberProblem(name, raw[name], { min: 0, integer: true, exclusive: true }));
    if (raw[name] !== undefined && pool !== undefined) {
      problems.push(
        `${name} applies to a pool the transport opens; set ` +
          `${name === 'connectTimeoutMs' ? 'connectionTimeoutMillis' : 'query_timeout'} on your pool instead`,
      );
    }
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
  if (problems.length > 0) throw invalidOptions('postgresTransport', problems);
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

function defaultOnError(error: unknown, context: PostgresErrorContext): void {
  const where = [context.where, context.group, context.channel, context.messageId].filter(Boolean).join(' ');
  console.error(`[@tidings/postgres] ${where}:`, error);
}

/**
 * Checks what a consumer asks for, and its handler.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown): void {
  if (!isRecord(options))
    throw invalidOptions('postgresTransport.consume', [
      `options must be an object (got ${describe(options)})`,
    ]);
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
  if (problems.length > 0) throw invalidOptions('postgresTransport.consume', problems);
}
