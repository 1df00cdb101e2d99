import type { NatsConnection } from '@nats-io/transport-node';
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
import type {
  Clock,
  ConsumeOptionRules,
  ConsumeOptions,
  ErrorReportContext,
  NumberRule,
} from '@tidings/core';

/** Where an error reported to `onError` happened. */
export interface NatsErrorContext extends ErrorReportContext {
  /** `handler`: a handler threw (the delivery is nacked); the others are NATS work the loop retries. */
  readonly where: 'handler' | 'fetch' | 'settle' | 'release' | 'tries' | 'connection';
}

/** Options of {@link natsTransport}. */
export interface NatsTransportOptions {
  /** The servers to connect to, e.g. `nats://127.0.0.1:4222`; required unless `connection` is given. */
  readonly servers?: string | readonly string[];
  /**
   * A connection of your own to use instead of opening one. The transport never closes it, and it
   * keeps the connection's own reconnect settings: with the client's defaults a publish made while it
   * is disconnected fails only after `requestTimeoutMs`, and consumers stop once the client gives up
   * reconnecting.
   */
  readonly connection?: NatsConnection;
  /** The connection's name, as the server's monitoring shows it (default `tidings`). */
  readonly name?: string;
  /** Namespace of every stream, consumer and subject the transport makes (default `tidings`). */
  readonly prefix?: string;
  /** Where dead-letter times and failure times come from (default the system clock). */
  readonly clock?: Clock;
  /** Replicas of the streams the transport creates (default 1; 3 in a production cluster). */
  readonly replicas?: number;
  /** The duplicate window of the streams it creates, in ms (default 120 000, the server's own). */
  readonly duplicateWindowMs?: number;
  /** How long a publisher may retry one message id; `doctor` warns when a window is shorter (default 120 000). */
  readonly retryHorizonMs?: number;
  /** `max_age` of the channel streams it creates, in ms (default: messages are kept until deleted). */
  readonly maxAgeMs?: number;
  /** The largest number of unacked messages of a group, over all its members (default 1 000). */
  readonly maxAckPending?: number;
  /** How long a publish or JetStream API call waits for the server before failing, in ms (default 2 000). */
  readonly requestTimeoutMs?: number;
  /** How long one pull request waits for messages, in ms (default 1 000, the client's minimum). */
  readonly fetchExpiresMs?: number;
  /** The largest body the transport accepts (default 983 040: the server's default 1 MiB less 64 KiB for headers). */
  readonly maxMessageBytes?: number;
  /** Receives errors the consumer loop survived (default: `console.error`). */
  readonly onError?: (error: unknown, context: NatsErrorContext) => void;
}

/** The options with every default filled in. @internal */
export interface ResolvedTransportOptions {
  readonly servers: string[];
  readonly name: string;
  readonly prefix: string;
  readonly clock: Clock;
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  readonly retryHorizonMs: number;
  readonly maxAgeMs: number | undefined;
  readonly maxAckPending: number;
  readonly requestTimeoutMs: number;
  readonly fetchExpiresMs: number;
  readonly maxMessageBytes: number;
  readonly onError: (error: unknown, context: NatsErrorContext) => void;
}

/** Defaults of {@link NatsTransportOptions}. */
export const NATS_DEFAULTS = {
  name: 'tidings',
  prefix: 'tidings',
  replicas: 1,
  duplicateWindowMs: 120_000,
  retryHorizonMs: 120_000,
  maxAckPending: 1_000,
  requestTimeoutMs: 2_000,
  fetchExpiresMs: 1_000,
  maxMessageBytes: 1024 * 1024 - 64 * 1024,
} as const;

const KEYS = new Set([
  'servers',
  'connection',
  'name',
  'prefix',
  'clock',
  'replicas',
  'duplicateWindowMs',
  'retryHorizonMs',
  'maxAgeMs',
  'maxAckPending',
  'requestTimeoutMs',
  'fetchExpiresMs',
  'maxMessageBytes',
  'onError',
]);

/** A prefix is one subject token and the start of stream names: letters, digits and `-`. */
const PREFIX = /^[A-Za-z0-9-]{1,32}$/;

const isServer = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/** The whole-number options and their ranges. */
const INTEGERS: readonly (readonly [keyof NatsTransportOptions, NumberRule])[] = [
  ['replicas', { min: 1, max: 5, maxReason: "JetStream's limit" }],
  ['duplicateWindowMs', { min: 1 }],
  ['retryHorizonMs', { min: 0 }],
  ['maxAgeMs', { min: 1 }],
  ['maxAckPending', { min: 1 }],
  ['requestTimeoutMs', { min: 1 }],
  ['fetchExpiresMs', { min: 1_000 }],
  ['maxMessageBytes', { min: 1 }],
];

const defaultOnError = consoleErrorReporter('@tidings/nats');

/**
 * Channel and group become stream, consumer and subject names, so they stay short; the lease becomes the
 * consumer's ack wait, in whole milliseconds; ordering is not kept.
 */
const CONSUME_RULES: ConsumeOptionRules = {
  maxNameLength: 100,
  leaseMs: { min: 1, integer: true },
  orderedNotSupportedBy: 'the nats transport',
};

/** Problems with `servers` and `connection`: one of them is needed, and each must be what it says. */
function connectionProblems(raw: Record<string, unknown>): string[] {
  const { servers, connection } = raw;
  const problems: string[] = [];
  if (servers === undefined && connection === undefined)
    problems.push("servers is required (e.g. 'nats://127.0.0.1:4222'), or pass an open connection");
  else if (
    servers !== undefined &&
    !isServer(servers) &&
    !(Array.isArray(servers) && servers.length > 0 && servers.every(isServer))
  )
    problems.push(`servers must be a URL or a non-empty array of URLs (got ${describeValue(servers)})`);
  if (
    connection !== undefined &&
    (!isRecord(connection) ||
      typeof connection.publish !== 'function' ||
      typeof connection.status !== 'function')
  )
    problems.push(
      `connection must be a NatsConnection from @nats-io/transport-node (got ${describeValue(connection)})`,
    );
  return problems;
}

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(given: NatsTransportOptions): ResolvedTransportOptions {
  checkOptions('natsTransport', given, {
    known: KEYS,
    example: "{ servers: 'nats://127.0.0.1:4222' }",
    problems: (raw) => [
      ...connectionProblems(raw),
      stringProblem('name', raw.name),
      raw.prefix === undefined || (typeof raw.prefix === 'string' && PREFIX.test(raw.prefix))
        ? undefined
        : `prefix must be 1-32 letters, digits or "-" (got ${describeValue(raw.prefix)})`,
      ...INTEGERS.map(([name, rule]) => numberProblem(name, raw[name], { ...rule, integer: true })),
    ],
  });
  return {
    servers:
      given.servers === undefined
        ? []
        : typeof given.servers === 'string'
          ? [given.servers]
          : [...given.servers],
    name: given.name ?? NATS_DEFAULTS.name,
    prefix: given.prefix ?? NATS_DEFAULTS.prefix,
    clock: given.clock ?? systemClock,
    replicas: given.replicas ?? NATS_DEFAULTS.replicas,
    duplicateWindowMs: given.duplicateWindowMs ?? NATS_DEFAULTS.duplicateWindowMs,
    retryHorizonMs: given.retryHorizonMs ?? NATS_DEFAULTS.retryHorizonMs,
    maxAgeMs: given.maxAgeMs,
    maxAckPending: given.maxAckPending ?? NATS_DEFAULTS.maxAckPending,
    requestTimeoutMs: given.requestTimeoutMs ?? NATS_DEFAULTS.requestTimeoutMs,
    fetchExpiresMs: given.fetchExpiresMs ?? NATS_DEFAULTS.fetchExpiresMs,
    maxMessageBytes: given.maxMessageBytes ?? NATS_DEFAULTS.maxMessageBytes,
    onError: given.onError ?? defaultOnError,
  };
}

/**
 * Checks what a consumer asks for, and its handler.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown): void {
  checkCommonConsumeOptions('natsTransport.consume', options, handler, CONSUME_RULES);
}
