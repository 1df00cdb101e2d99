import { DEFAULT_RETRY, invalidOptions, systemClock } from '@tidings/core';
import type { Clock, ConsumeOptions } from '@tidings/core';

/** Where an error reported to `onError` happened. */
export interface RabbitmqErrorContext {
  /**
   * `handler`: a handler threw (the delivery is nacked); `connection`: the connection dropped or could
   * not be made (it is retried); `attach`: a consumer could not (re)declare its queue or start
   * consuming (retried); `settle`: an ack, nack or dead letter failed.
   */
  readonly where: 'handler' | 'connection' | 'attach' | 'settle';
  readonly channel?: string | undefined;
  readonly group?: string | undefined;
  readonly messageId?: string | undefined;
}

/** Options of {@link rabbitmqTransport}. */
export interface RabbitmqTransportOptions {
  /** The broker, as an AMQP URL (default `amqp://guest:guest@127.0.0.1:5672`); add `?heartbeat=10` to notice a dead peer sooner. */
  readonly url?: string;
  /** Namespace of every exchange and queue the transport declares (default `tidings`). */
  readonly prefix?: string;
  /** Where dead-letter times and default failure times come from (default the system clock). */
  readonly clock?: Clock;
  /** How long a publish waits for the broker's confirm before it fails as unavailable (ms, default 10 000). */
  readonly confirmTimeoutMs?: number;
  /** How long the first publish or consume waits for the first connection (ms, default 5 000). */
  readonly connectTimeoutMs?: number;
  /** First pause before reconnecting after the connection is lost (ms, default 100); it doubles each try. */
  readonly reconnectDelayMs?: number;
  /** Longest pause between reconnection attempts (ms, default 5 000). */
  readonly reconnectMaxDelayMs?: number;
  /**
   * Deliveries the bus may make of one message before it gives up (default `DEFAULT_RETRY.delays.length
   * + 3`, the bus's own default `maxDeliveries`). Only the doctor reads it: a queue delivery limit below
   * it would drop messages before the bus dead-letters them.
   */
  readonly retryBudget?: number;
  /** Receives errors the transport survived (default: `console.error`). */
  readonly onError?: (error: unknown, context: RabbitmqErrorContext) => void;
}

/** The options with every default filled in. @internal */
export interface ResolvedTransportOptions {
  readonly url: string;
  readonly prefix: string;
  readonly clock: Clock;
  readonly confirmTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly reconnectDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly retryBudget: number;
  readonly onError: (error: unknown, context: RabbitmqErrorContext) => void;
}

/** Defaults of {@link RabbitmqTransportOptions}. */
export const RABBITMQ_DEFAULTS = {
  url: 'amqp://guest:guest@127.0.0.1:5672',
  prefix: 'tidings',
  confirmTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
  reconnectDelayMs: 100,
  reconnectMaxDelayMs: 5_000,
  retryBudget: DEFAULT_RETRY.delays.length + 3,
} as const;

const KEYS = new Set([
  'url',
  'prefix',
  'clock',
  'confirmTimeoutMs',
  'connectTimeoutMs',
  'reconnectDelayMs',
  'reconnectMaxDelayMs',
  'retryBudget',
  'onError',
]);

const INTEGERS = [
  'confirmTimeoutMs',
  'connectTimeoutMs',
  'reconnectDelayMs',
  'reconnectMaxDelayMs',
  'retryBudget',
] as const;

/** The longest name RabbitMQ accepts for an exchange, a queue or a routing key, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(options: RabbitmqTransportOptions = {}): ResolvedTransportOptions {
  const given = options;
  if (!isRecord(options))
    throw invalidOptions('rabbitmqTransport', [`options must be an object (got ${describe(given)})`]);
  const raw: Record<string, unknown> = options;
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  }
  if (raw.url !== undefined && (typeof raw.url !== 'string' || !/^amqps?:\/\//.test(raw.url)))
    problems.push(`url must be an AMQP URL such as "amqp://user:pass@host:5672" (got ${describe(raw.url)})`);
  const prefix = raw.prefix;
  if (prefix !== undefined) {
    if (typeof prefix !== 'string' || prefix.length === 0)
      problems.push(`prefix must be a non-empty string (got ${describe(prefix)})`);
    else if (prefix.startsWith('amq.'))
      problems.push(`prefix must not start with "amq.", which RabbitMQ reserves (got ${describe(prefix)})`);
    else if (Buffer.byteLength(prefix) > 100)
      problems.push('prefix must be at most 100 bytes, to leave room for channel and group in queue names');
  }
  for (const name of INTEGERS) {
    const value = raw[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1))
      problems.push(`${name} must be an integer >= 1 (got ${describe(value)})`);
  }
  const clock = raw.clock;
  if (clock !== undefined && (!isRecord(clock) || typeof clock.now !== 'function'))
    problems.push(`clock must have now() and sleep(ms, signal) (got ${describe(clock)})`);
  if (raw.onError !== undefined && typeof raw.onError !== 'function')
    problems.push(`onError must be a function (got ${describe(raw.onError)})`);
  if (problems.length > 0) throw invalidOptions('rabbitmqTransport', problems);
  const reconnectDelayMs = given.reconnectDelayMs ?? RABBITMQ_DEFAULTS.reconnectDelayMs;
  return {
    url: given.url ?? RABBITMQ_DEFAULTS.url,
    prefix: given.prefix ?? RABBITMQ_DEFAULTS.prefix,
    clock: given.clock ?? systemClock,
    confirmTimeoutMs: given.confirmTimeoutMs ?? RABBITMQ_DEFAULTS.confirmTimeoutMs,
    connectTimeoutMs: given.connectTimeoutMs ?? RABBITMQ_DEFAULTS.connectTimeoutMs,
    reconnectDelayMs,
    reconnectMaxDelayMs: Math.max(
      reconnectDelayMs,
      given.reconnectMaxDelayMs ?? RABBITMQ_DEFAULTS.reconnectMaxDelayMs,
    ),
    retryBudget: given.retryBudget ?? RABBITMQ_DEFAULTS.retryBudget,
    onError: given.onError ?? defaultOnError,
  };
}

function defaultOnError(error: unknown, context: RabbitmqErrorContext): void {
  const where = [context.where, context.group, context.channel, context.messageId].filter(Boolean).join(' ');
  console.error(`[@tidings/rabbitmq] ${where}:`, error);
}

/** Problems with a channel name: the empty string, a reserved `~` start, a name too long. @internal */
export function channelProblems(channel: unknown): string[] {
  if (typeof channel !== 'string' || channel.length === 0)
    return [`channel must be a non-empty string (got ${describe(channel)})`];
  if (channel.startsWith('~'))
    return [
      `channel must not start with "~", which the transport keeps for its own queues (got ${describe(channel)})`,
    ];
  return [];
}

/** Problems with a topic used as a routing key or binding key. @internal */
export function topicProblems(topic: string, binding: boolean): string[] {
  if (Buffer.byteLength(topic) > MAX_NAME_BYTES)
    return [
      `topic ${describe(topic.slice(0, 40))}… is longer than RabbitMQ's ${MAX_NAME_BYTES}-byte routing keys`,
    ];
  // In a binding, a word "*" or "#" is a wildcard and would receive other topics too.
  if (binding && topic.split('.').some((word) => word === '*' || word === '#'))
    return [
      `topic ${describe(topic)} has a "*" or "#" word, which a topic exchange reads as a wildcard; rename it`,
    ];
  return [];
}

/**
 * Checks what a consumer asks for, and its handler.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown, prefix: string): void {
  if (!isRecord(options))
    throw invalidOptions('rabbitmqTransport.consume', [
      `options must be an object (got ${describe(options)})`,
    ]);
  const raw = options as unknown as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof handler !== 'function') problems.push(`handler must be a function (got ${describe(handler)})`);
  problems.push(...channelProblems(raw.channel));
  const group = raw.group;
  if (typeof group !== 'string' || group.length === 0)
    problems.push(`group must be a non-empty string (got ${describe(group)})`);
  else if (
    typeof raw.channel === 'string' &&
    Buffer.byteLength(`${prefix}.${raw.channel}.${group}`) > MAX_NAME_BYTES
  )
    problems.push(
      `the queue name "${prefix}.<channel>.<group>" would exceed ${MAX_NAME_BYTES} bytes; use shorter names`,
    );
  const topics = raw.topics;
  if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === ''))
    problems.push(`topics must be a non-empty array of topic names (got ${describe(topics)})`);
  else for (const topic of topics as string[]) problems.push(...topicProblems(topic, true));
  for (const name of ['concurrency', 'leaseMs'] as const) {
    const value = raw[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
      problems.push(`${name} must be an integer >= 1 (got ${describe(value)})`);
  }
  if (typeof raw.concurrency === 'number' && raw.concurrency > 65_535)
    problems.push(`concurrency must be at most 65535, RabbitMQ's largest prefetch (got ${raw.concurrency})`);
  if (raw.ordered === true)
    problems.push(
      'ordered delivery is not supported by the rabbitmq transport (capabilities.ordering is none)',
    );
  if (problems.length > 0) throw invalidOptions('rabbitmqTransport.consume', problems);
}
