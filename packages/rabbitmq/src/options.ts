import {
  checkConsumeOptions as checkCommonConsumeOptions,
  checkOptions,
  consoleErrorReporter,
  DEFAULT_RETRY,
  describeValue,
  numberProblem,
  systemClock,
} from '@tidings/core';
import type { Clock, ConsumeOptions, ErrorReportContext } from '@tidings/core';

/** Where an error reported to `onError` happened. */
export interface RabbitmqErrorContext extends ErrorReportContext {
  /**
   * `handler`: a handler threw (the delivery is nacked); `connection`: the connection dropped or could
   * not be made (it is retried); `attach`: a consumer could not (re)declare its queue or start
   * consuming (retried); `settle`: an ack, nack or dead letter failed.
   */
  readonly where: 'handler' | 'connection' | 'attach' | 'settle';
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

const defaultOnError = consoleErrorReporter('@tidings/rabbitmq');

/** Problems with the prefix of exchange and queue names. */
function prefixProblem(prefix: unknown): string | undefined {
  if (prefix === undefined) return undefined;
  if (typeof prefix !== 'string' || prefix.length === 0)
    return `prefix must be a non-empty string (got ${describeValue(prefix)})`;
  if (prefix.startsWith('amq.'))
    return `prefix must not start with "amq.", which RabbitMQ reserves (got ${describeValue(prefix)})`;
  if (Buffer.byteLength(prefix) > 100)
    return 'prefix must be at most 100 bytes, to leave room for channel and group in queue names';
  return undefined;
}

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(options: RabbitmqTransportOptions = {}): ResolvedTransportOptions {
  checkOptions('rabbitmqTransport', options, {
    known: KEYS,
    problems: (raw) => [
      raw.url === undefined || (typeof raw.url === 'string' && /^amqps?:\/\//.test(raw.url))
        ? undefined
        : `url must be an AMQP URL such as "amqp://user:pass@host:5672" (got ${describeValue(raw.url)})`,
      prefixProblem(raw.prefix),
      ...INTEGERS.map((name) => numberProblem(name, raw[name], { min: 1, integer: true })),
    ],
  });
  const reconnectDelayMs = options.reconnectDelayMs ?? RABBITMQ_DEFAULTS.reconnectDelayMs;
  return {
    url: options.url ?? RABBITMQ_DEFAULTS.url,
    prefix: options.prefix ?? RABBITMQ_DEFAULTS.prefix,
    clock: options.clock ?? systemClock,
    confirmTimeoutMs: options.confirmTimeoutMs ?? RABBITMQ_DEFAULTS.confirmTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? RABBITMQ_DEFAULTS.connectTimeoutMs,
    reconnectDelayMs,
    reconnectMaxDelayMs: Math.max(
      reconnectDelayMs,
      options.reconnectMaxDelayMs ?? RABBITMQ_DEFAULTS.reconnectMaxDelayMs,
    ),
    retryBudget: options.retryBudget ?? RABBITMQ_DEFAULTS.retryBudget,
    onError: options.onError ?? defaultOnError,
  };
}

/** Problems with a channel name: the empty string, a reserved `~` start, a name too long. @internal */
export function channelProblems(channel: unknown): string[] {
  if (typeof channel !== 'string' || channel.length === 0)
    return [`channel must be a non-empty string (got ${describeValue(channel)})`];
  if (channel.startsWith('~'))
    return [
      `channel must not start with "~", which the transport keeps for its own queues (got ${describeValue(channel)})`,
    ];
  return [];
}

/** Problems with a topic used as a routing key or binding key. @internal */
export function topicProblems(topic: string, binding: boolean): string[] {
  if (Buffer.byteLength(topic) > MAX_NAME_BYTES)
    return [
      `topic ${describeValue(topic.slice(0, 40))}… is longer than RabbitMQ's ${MAX_NAME_BYTES}-byte routing keys`,
    ];
  // In a binding, a word "*" or "#" is a wildcard and would receive other topics too.
  if (binding && topic.split('.').some((word) => word === '*' || word === '#'))
    return [
      `topic ${describeValue(topic)} has a "*" or "#" word, which a topic exchange reads as a wildcard; rename it`,
    ];
  return [];
}

/**
 * Checks what a consumer asks for, and its handler: the common checks, then RabbitMQ's own limits on
 * names, routing keys and prefetch.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown, prefix: string): void {
  checkCommonConsumeOptions('rabbitmqTransport.consume', options, handler, {
    concurrency: { min: 1, max: 65_535, integer: true, maxReason: "RabbitMQ's largest prefetch" },
    leaseMs: { min: 1, integer: true },
    orderedNotSupportedBy: 'the rabbitmq transport',
    extra: (raw) => rabbitmqConsumeProblems(raw, prefix),
  });
}

/** What RabbitMQ adds to the common consume checks: reserved channels, name lengths, wildcard topics. */
function rabbitmqConsumeProblems(raw: Record<string, unknown>, prefix: string): string[] {
  const { channel, group, topics } = raw;
  // The common checks already refuse a channel, group or topic that is not a non-empty string.
  const named = (value: unknown): value is string => typeof value === 'string' && value !== '';
  const problems = named(channel) ? channelProblems(channel) : [];
  if (named(channel) && named(group) && Buffer.byteLength(`${prefix}.${channel}.${group}`) > MAX_NAME_BYTES)
    problems.push(
      `the queue name "${prefix}.<channel>.<group>" would exceed ${MAX_NAME_BYTES} bytes; use shorter names`,
    );
  if (Array.isArray(topics))
    for (const topic of topics) if (named(topic)) problems.push(...topicProblems(topic, true));
  return problems;
}
