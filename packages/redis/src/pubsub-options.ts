import { checkOptions, consoleErrorReporter, systemClock } from '@tidings/core';
import type { Clock } from '@tidings/core';
import type { RedisClient } from './client.ts';
import { REDIS_DEFAULTS, sharedProblems } from './options.ts';

/** Where an error reported to `onError` of the Pub/Sub transport happened. */
export interface RedisPubSubErrorContext {
  /**
   * `handler`: a handler threw (the delivery is nacked); `connection`: a connection was lost (once per
   * outage); `dead-letter`: a dead letter could not be stored and the message is dropped; `overflow`:
   * a group's buffer was full and its oldest message was dropped.
   */
  readonly where: 'handler' | 'connection' | 'dead-letter' | 'overflow';
  readonly channel?: string | undefined;
  readonly group?: string | undefined;
  readonly messageId?: string | undefined;
}

/** Options of {@link redisPubSubTransport}. */
export interface RedisPubSubTransportOptions {
  /** The server to connect to (default `redis://127.0.0.1:6379`); ignored when `client` is given. */
  readonly url?: string;
  /** A node-redis client whose connection settings the transport copies; it is left as it is. */
  readonly client?: RedisClient;
  /** Prefix of every Pub/Sub channel and key the transport uses (default `tidings`). */
  readonly prefix?: string;
  /** Where dead-letter times and nack delays come from (default the system clock). */
  readonly clock?: Clock;
  /**
   * How many received messages one group may hold waiting for a free consumer (default 10 000). Pub/Sub
   * cannot slow a publisher down; past this, the oldest waiting message is dropped and reported.
   */
  readonly maxBuffered?: number;
  /** How long a publish may wait for the first connection and for Redis's reply, in ms (default 2000). */
  readonly commandTimeoutMs?: number;
  /** Receives errors the transport survived (default: `console.error`). */
  readonly onError?: (error: unknown, context: RedisPubSubErrorContext) => void;
}

/** The options with every default filled in. @internal */
export interface ResolvedPubSubOptions {
  readonly url: string;
  readonly prefix: string;
  readonly clock: Clock;
  readonly maxBuffered: number;
  readonly commandTimeoutMs: number;
  readonly onError: (error: unknown, context: RedisPubSubErrorContext) => void;
}

/** Defaults of {@link RedisPubSubTransportOptions}. */
export const REDIS_PUBSUB_DEFAULTS = {
  url: REDIS_DEFAULTS.url,
  prefix: REDIS_DEFAULTS.prefix,
  maxBuffered: 10_000,
  commandTimeoutMs: REDIS_DEFAULTS.commandTimeoutMs,
} as const;

const KEYS = ['url', 'client', 'prefix', 'clock', 'maxBuffered', 'commandTimeoutMs', 'onError'];

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolvePubSubOptions(given: RedisPubSubTransportOptions = {}): ResolvedPubSubOptions {
  checkOptions('redisPubSubTransport', given, {
    known: KEYS,
    example: "{ url: 'redis://127.0.0.1:6379' }",
    problems: (raw) => sharedProblems(raw, ['maxBuffered', 'commandTimeoutMs']),
  });
  const options = given;
  return {
    url: options.url ?? REDIS_PUBSUB_DEFAULTS.url,
    prefix: options.prefix ?? REDIS_PUBSUB_DEFAULTS.prefix,
    clock: options.clock ?? systemClock,
    maxBuffered: options.maxBuffered ?? REDIS_PUBSUB_DEFAULTS.maxBuffered,
    commandTimeoutMs: options.commandTimeoutMs ?? REDIS_PUBSUB_DEFAULTS.commandTimeoutMs,
    onError: options.onError ?? consoleErrorReporter('@tidings/redis pubsub'),
  };
}
