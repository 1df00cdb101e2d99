import { invalidOptions, systemClock } from '@tidings/core';
import type { Clock } from '@tidings/core';
import type { RedisClient } from './client.ts';
import { describe, isRecord, REDIS_DEFAULTS } from './options.ts';

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

const KEYS = new Set(['url', 'client', 'prefix', 'clock', 'maxBuffered', 'commandTimeoutMs', 'onError']);

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolvePubSubOptions(given: RedisPubSubTransportOptions = {}): ResolvedPubSubOptions {
  const options: RedisPubSubTransportOptions = given;
  if (!isRecord(given))
    throw invalidOptions('redisPubSubTransport', [`options must be an object (got ${describe(given)})`]);
  const raw: Record<string, unknown> = given;
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  }
  for (const name of ['url', 'prefix'] as const) {
    const value = raw[name];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0))
      problems.push(`${name} must be a non-empty string (got ${describe(value)})`);
  }
  for (const name of ['maxBuffered', 'commandTimeoutMs'] as const) {
    const value = raw[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1))
      problems.push(`${name} must be an integer >= 1 (got ${describe(value)})`);
  }
  if (raw.client !== undefined && (!isRecord(raw.client) || typeof raw.client.duplicate !== 'function'))
    problems.push(`client must be a node-redis client (got ${describe(raw.client)})`);
  const clock = raw.clock;
  if (clock !== undefined && (!isRecord(clock) || typeof clock.now !== 'function'))
    problems.push(`clock must have now() and sleep(ms, signal) (got ${describe(clock)})`);
  if (raw.onError !== undefined && typeof raw.onError !== 'function')
    problems.push(`onError must be a function (got ${describe(raw.onError)})`);
  if (problems.length > 0) throw invalidOptions('redisPubSubTransport', problems);
  return {
    url: options.url ?? REDIS_PUBSUB_DEFAULTS.url,
    prefix: options.prefix ?? REDIS_PUBSUB_DEFAULTS.prefix,
    clock: options.clock ?? systemClock,
    maxBuffered: options.maxBuffered ?? REDIS_PUBSUB_DEFAULTS.maxBuffered,
    commandTimeoutMs: options.commandTimeoutMs ?? REDIS_PUBSUB_DEFAULTS.commandTimeoutMs,
    onError: options.onError ?? defaultOnError,
  };
}

function defaultOnError(error: unknown, context: RedisPubSubErrorContext): void {
  const where = [context.where, context.group, context.channel, context.messageId].filter(Boolean).join(' ');
  console.error(`[@tidings/redis pubsub] ${where}:`, error);
}
