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
import type { Clock, ConsumeOptions } from '@tidings/core';
import type { RedisClient } from './client.ts';

/** Where an error reported to `onError` happened. */
export interface RedisErrorContext {
  /**
   * `handler`: a handler threw (the delivery is nacked); `connection`: a connection was lost (reported
   * once per outage; it reconnects by itself); the others are Redis work the loop retries.
   */
  readonly where: 'handler' | 'connection' | 'read' | 'claim' | 'settle' | 'release' | 'delayed';
  readonly channel?: string | undefined;
  readonly group?: string | undefined;
  readonly messageId?: string | undefined;
}

/** Options of {@link redisTransport}. */
export interface RedisTransportOptions {
  /** The server to connect to (default `redis://127.0.0.1:6379`); ignored when `client` is given. */
  readonly url?: string;
  /**
   * A node-redis client whose connection settings (URL, TLS, credentials) the transport copies with
   * `client.duplicate({ RESP: 2 })`; the transport's connections are its own, and this client is left
   * as it is. Each consumer opens one more connection for its blocking reads.
   */
  readonly client?: RedisClient;
  /** Prefix of every key the transport writes (default `tidings`). */
  readonly prefix?: string;
  /** Where due times of delayed retries and dead-letter times come from (default the system clock). */
  readonly clock?: Clock;
  /** How long one blocking XREADGROUP waits, in ms (default 100); also how fast close() stops reading. */
  readonly blockMs?: number;
  /** Approximate MAXLEN of every stream (default: no trimming). Trimming may drop unread messages. */
  readonly maxLength?: number;
  /**
   * How long a publish may wait, in ms (default 2000): for the first connection, and for Redis's reply.
   * While the connection is lost a publish fails at once; past this it fails with `TIDINGS_UNAVAILABLE`.
   */
  readonly commandTimeoutMs?: number;
  /** Receives errors the consumer loop survived (default: `console.error`). */
  readonly onError?: (error: unknown, context: RedisErrorContext) => void;
}

/** The options with every default filled in. @internal */
export interface ResolvedTransportOptions {
  readonly url: string;
  readonly prefix: string;
  readonly clock: Clock;
  readonly blockMs: number;
  readonly maxLength: number | undefined;
  readonly commandTimeoutMs: number;
  readonly onError: (error: unknown, context: RedisErrorContext) => void;
}

/** Defaults of {@link RedisTransportOptions}. */
export const REDIS_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'tidings',
  blockMs: 100,
  commandTimeoutMs: 2000,
} as const;

const KEYS = ['url', 'client', 'prefix', 'clock', 'blockMs', 'maxLength', 'commandTimeoutMs', 'onError'];

/** The checks both Redis transports make of the options they share. @internal */
export function sharedProblems(
  raw: Record<string, unknown>,
  integers: readonly string[],
): (string | undefined)[] {
  return [
    stringProblem('url', raw.url),
    stringProblem('prefix', raw.prefix),
    ...integers.map((name) => numberProblem(name, raw[name], { min: 1, integer: true })),
    raw.client === undefined || (isRecord(raw.client) && typeof raw.client.duplicate === 'function')
      ? undefined
      : `client must be a node-redis client (got ${describeValue(raw.client)})`,
  ];
}

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(given: RedisTransportOptions = {}): ResolvedTransportOptions {
  checkOptions('redisTransport', given, {
    known: KEYS,
    example: "{ url: 'redis://127.0.0.1:6379' }",
    problems: (raw) => sharedProblems(raw, ['blockMs', 'maxLength', 'commandTimeoutMs']),
  });
  const options = given;
  return {
    url: options.url ?? REDIS_DEFAULTS.url,
    prefix: options.prefix ?? REDIS_DEFAULTS.prefix,
    clock: options.clock ?? systemClock,
    blockMs: options.blockMs ?? REDIS_DEFAULTS.blockMs,
    maxLength: options.maxLength,
    commandTimeoutMs: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    onError: options.onError ?? consoleErrorReporter('@tidings/redis'),
  };
}

/**
 * Checks what a consumer asks for, and its handler; neither Redis transport delivers in order.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(
  options: ConsumeOptions,
  handler: unknown,
  where = 'redisTransport.consume',
): void {
  checkCommonConsumeOptions(where, options, handler, {
    leaseMs: { min: 1, integer: true },
    orderedNotSupportedBy: where.split('.')[0] ?? where,
  });
}
