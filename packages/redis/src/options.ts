import { invalidOptions, systemClock } from '@tidings/core';
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

const KEYS = new Set([
  'url',
  'client',
  'prefix',
  'clock',
  'blockMs',
  'maxLength',
  'commandTimeoutMs',
  'onError',
]);

/** Says what a bad option value is, for messages. @internal */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** @internal */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(given: RedisTransportOptions = {}): ResolvedTransportOptions {
  const options: RedisTransportOptions = given;
  if (!isRecord(given))
    throw invalidOptions('redisTransport', [`options must be an object (got ${describe(options)})`]);
  const raw = given;
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  }
  for (const name of ['url', 'prefix'] as const) {
    const value = raw[name];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0))
      problems.push(`${name} must be a non-empty string (got ${describe(value)})`);
  }
  for (const name of ['blockMs', 'maxLength', 'commandTimeoutMs'] as const) {
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
  if (problems.length > 0) throw invalidOptions('redisTransport', problems);
  return {
    url: options.url ?? REDIS_DEFAULTS.url,
    prefix: options.prefix ?? REDIS_DEFAULTS.prefix,
    clock: options.clock ?? systemClock,
    blockMs: options.blockMs ?? REDIS_DEFAULTS.blockMs,
    maxLength: options.maxLength,
    commandTimeoutMs: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    onError: options.onError ?? defaultOnError,
  };
}

function defaultOnError(error: unknown, context: RedisErrorContext): void {
  const where = [context.where, context.group, context.channel, context.messageId].filter(Boolean).join(' ');
  console.error(`[@tidings/redis] ${where}:`, error);
}

/**
 * Checks what a consumer asks for, and its handler.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(
  options: ConsumeOptions,
  handler: unknown,
  where = 'redisTransport.consume',
): void {
  if (!isRecord(options))
    throw invalidOptions(where, [`options must be an object (got ${describe(options)})`]);
  const raw = options as unknown as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof handler !== 'function') problems.push(`handler must be a function (got ${describe(handler)})`);
  for (const name of ['channel', 'group'] as const) {
    const value = raw[name];
    if (typeof value !== 'string' || value.length === 0)
      problems.push(`${name} must be a non-empty string (got ${describe(value)})`);
  }
  const topics = raw.topics;
  if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === ''))
    problems.push(`topics must be a non-empty array of topic names (got ${describe(topics)})`);
  for (const name of ['concurrency', 'leaseMs'] as const) {
    const value = raw[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
      problems.push(`${name} must be an integer >= 1 (got ${describe(value)})`);
  }
  if (raw.ordered === true)
    problems.push(
      `ordered delivery is not supported by ${where.split('.')[0]} (capabilities.ordering is none)`,
    );
  if (problems.length > 0) throw invalidOptions(where, problems);
}
