import type { NatsConnection } from '@nats-io/transport-node';
import { invalidOptions, systemClock } from '@tidings/core';
import type { Clock, ConsumeOptions } from '@tidings/core';

/** Where an error reported to `onError` happened. */
export interface NatsErrorContext {
  /** `handler`: a handler threw (the delivery is nacked); the others are NATS work the loop retries. */
  readonly where: 'handler' | 'fetch' | 'settle' | 'release' | 'tries' | 'connection';
  readonly channel?: string | undefined;
  readonly group?: string | undefined;
  readonly messageId?: string | undefined;
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

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const isServer = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

function integerProblems(raw: Record<string, unknown>, problems: string[]): void {
  const minimums: [keyof NatsTransportOptions, number][] = [
    ['replicas', 1],
    ['duplicateWindowMs', 1],
    ['retryHorizonMs', 0],
    ['maxAgeMs', 1],
    ['maxAckPending', 1],
    ['requestTimeoutMs', 1],
    ['fetchExpiresMs', 1_000],
    ['maxMessageBytes', 1],
  ];
  for (const [name, minimum] of minimums) {
    const value = raw[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < minimum))
      problems.push(`${name} must be an integer >= ${minimum} (got ${describe(value)})`);
  }
  if (typeof raw.replicas === 'number' && raw.replicas > 5)
    problems.push(`replicas must be at most 5, JetStream's limit (got ${raw.replicas})`);
}

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(given: NatsTransportOptions): ResolvedTransportOptions {
  if (!isRecord(given))
    throw invalidOptions('natsTransport', [
      `options must be an object such as { servers: 'nats://127.0.0.1:4222' } (got ${describe(given)})`,
    ]);
  const raw: Record<string, unknown> = given;
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  }
  const servers = raw.servers;
  if (servers === undefined && raw.connection === undefined)
    problems.push("servers is required (e.g. 'nats://127.0.0.1:4222'), or pass an open connection");
  else if (
    servers !== undefined &&
    !isServer(servers) &&
    !(Array.isArray(servers) && servers.length > 0 && servers.every(isServer))
  )
    problems.push(`servers must be a URL or a non-empty array of URLs (got ${describe(servers)})`);
  const connection = raw.connection;
  if (
    connection !== undefined &&
    (!isRecord(connection) ||
      typeof connection.publish !== 'function' ||
      typeof connection.status !== 'function')
  )
    problems.push(
      `connection must be a NatsConnection from @nats-io/transport-node (got ${describe(connection)})`,
    );
  if (raw.name !== undefined && (typeof raw.name !== 'string' || raw.name === ''))
    problems.push(`name must be a non-empty string (got ${describe(raw.name)})`);
  if (raw.prefix !== undefined && (typeof raw.prefix !== 'string' || !PREFIX.test(raw.prefix)))
    problems.push(`prefix must be 1-32 letters, digits or "-" (got ${describe(raw.prefix)})`);
  integerProblems(raw, problems);
  const clock = raw.clock;
  if (clock !== undefined && (!isRecord(clock) || typeof clock.now !== 'function'))
    problems.push(`clock must have now() and sleep(ms, signal) (got ${describe(clock)})`);
  if (raw.onError !== undefined && typeof raw.onError !== 'function')
    problems.push(`onError must be a function (got ${describe(raw.onError)})`);
  if (problems.length > 0) throw invalidOptions('natsTransport', problems);
  const valid = given as NatsTransportOptions;
  return {
    servers:
      valid.servers === undefined
        ? []
        : typeof valid.servers === 'string'
          ? [valid.servers]
          : [...valid.servers],
    name: valid.name ?? NATS_DEFAULTS.name,
    prefix: valid.prefix ?? NATS_DEFAULTS.prefix,
    clock: valid.clock ?? systemClock,
    replicas: valid.replicas ?? NATS_DEFAULTS.replicas,
    duplicateWindowMs: valid.duplicateWindowMs ?? NATS_DEFAULTS.duplicateWindowMs,
    retryHorizonMs: valid.retryHorizonMs ?? NATS_DEFAULTS.retryHorizonMs,
    maxAgeMs: valid.maxAgeMs,
    maxAckPending: valid.maxAckPending ?? NATS_DEFAULTS.maxAckPending,
    requestTimeoutMs: valid.requestTimeoutMs ?? NATS_DEFAULTS.requestTimeoutMs,
    fetchExpiresMs: valid.fetchExpiresMs ?? NATS_DEFAULTS.fetchExpiresMs,
    maxMessageBytes: valid.maxMessageBytes ?? NATS_DEFAULTS.maxMessageBytes,
    onError: valid.onError ?? defaultOnError,
  };
}

function defaultOnError(error: unknown, context: NatsErrorContext): void {
  const where = [context.where, context.group, context.channel, context.messageId].filter(Boolean).join(' ');
  console.error(`[@tidings/nats] ${where}:`, error);
}

/**
 * Checks what a consumer asks for, and its handler.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown): void {
  if (!isRecord(options))
    throw invalidOptions('natsTransport.consume', [`options must be an object (got ${describe(options)})`]);
  const raw = options as unknown as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof handler !== 'function') problems.push(`handler must be a function (got ${describe(handler)})`);
  for (const name of ['channel', 'group'] as const) {
    const value = raw[name];
    if (typeof value !== 'string' || value.length === 0 || value.length > 100)
      problems.push(`${name} must be a string of 1-100 characters (got ${describe(value)})`);
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
    problems.push('ordered delivery is not supported by the nats transport (capabilities.ordering is none)');
  if (problems.length > 0) throw invalidOptions('natsTransport.consume', problems);
}
