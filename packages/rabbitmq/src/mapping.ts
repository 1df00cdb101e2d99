import type { TransportMessage } from '@tidings/core';

/**
 * How Tidings maps onto RabbitMQ names, and a message onto an AMQP message.
 *
 * A message travels with `messageId` = its id, `type` = its topic and `deliveryMode: 2`. Its headers
 * travel as AMQP headers when they fit comfortably in one frame (a few KiB, no reserved names, valid
 * UTF-8): any AMQP client can read them there. Otherwise (a 64 KiB trace header, say) they travel
 * inside the content, framed ahead of the body, since an AMQP header table must fit one frame and
 * amqplib refuses tables over 64 KiB. Reading is total: a hand-made message still becomes one, so the
 * bus (not the transport) decides it is invalid and dead-letters it.
 */

/** Every exchange and queue name the transport uses, under one prefix. @internal */
export interface Names {
  /** The topic exchange of a channel; the routing key is the topic. */
  exchange(channel: string): string;
  /** The quorum queue of a group on a channel. */
  queue(channel: string, group: string): string;
  /** The fanout exchange and the queue of one delay bucket, shared by every group. */
  delay(bucketMs: number): string;
  /** The stream that keeps the dead letters of every group. */
  readonly deadLetters: string;
}

/** @internal */
export function namesFor(prefix: string): Names {
  return {
    exchange: (channel) => `${prefix}.${channel}`,
    queue: (channel, group) => `${prefix}.${channel}.${group}`,
    // Channels may not start with "~", so these never meet a channel's exchange.
    delay: (bucketMs) => `${prefix}.~delay.${bucketMs}`,
    deadLetters: `${prefix}.~dead-letters`,
  };
}

/** Arguments of every group queue: a quorum queue (replicated, with a delivery counter). @internal */
export const GROUP_QUEUE_ARGUMENTS = Object.freeze({ 'x-queue-type': 'quorum' });

/** Arguments of a delay bucket: expired messages go back through the default exchange, at least once. @internal */
export function delayQueueArguments(bucketMs: number): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-message-ttl': bucketMs,
    'x-dead-letter-exchange': '',
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

/** The shortest and longest delay a bucket holds (RabbitMQ's TTL is at most 2^32 - 1 ms). @internal */
export const MAX_DELAY_MS = 2 ** 32 - 1;
const STEPS_PER_DOUBLING = 4;

/**
 * The delay bucket of a delay: the smallest of 2^(k/4) ms (rounded up) that is at least `delayMs`, so a
 * retry never comes early and at most about 19% late, with few queues. Clamped to {@link MAX_DELAY_MS}.
 *
 * @internal
 */
export function delayBucket(delayMs: number): number {
  if (!(delayMs > 1)) return 1;
  if (delayMs >= MAX_DELAY_MS) return MAX_DELAY_MS;
  let step = Math.ceil(Math.log2(delayMs) * STEPS_PER_DOUBLING - 1e-9);
  let bucket = Math.ceil(2 ** (step / STEPS_PER_DOUBLING));
  while (bucket < delayMs) {
    step += 1;
    bucket = Math.ceil(2 ** (step / STEPS_PER_DOUBLING));
  }
  return Math.min(bucket, MAX_DELAY_MS);
}

/** Headers the transport writes itself. @internal */
export const HEADER = {
  key: 'x-tidings-key',
  framed: 'x-tidings-framed',
  /** Deliveries of the message before this copy was published (a nack re-publishes it). */
  attempts: 'x-tidings-attempts',
  tries: 'x-tidings-tries',
  firstFailedAt: 'x-tidings-first-failed-at',
} as const;

/** Headers of the broker: the quorum queue's counter, dead-lettering history, stream offsets. */
const BROKER_HEADERS = new Set(['x-delivery-count', 'x-death', 'x-stream-offset', 'x-received-from']);

/** Whether a header name belongs to the transport or the broker, not to the message. @internal */
export function isReservedHeader(name: string): boolean {
  return (
    name.startsWith('x-tidings-') ||
    BROKER_HEADERS.has(name) ||
    name.startsWith('x-first-death-') ||
    name.startsWith('x-last-death-')
  );
}

/** Header tables up to this size travel as AMQP headers; larger ones go inside the content. */
const HEADER_TABLE_BUDGET = 16 * 1024;

const survivesUtf8 = (text: string): boolean => Buffer.from(text, 'utf8').toString('utf8') === text;

function fitsHeaderTable(message: TransportMessage): boolean {
  let bytes = message.key === undefined ? 0 : Buffer.byteLength(message.key);
  if (message.key !== undefined && !survivesUtf8(message.key)) return false;
  for (const [name, value] of Object.entries(message.headers)) {
    const nameBytes = Buffer.byteLength(name);
    if (nameBytes > 255 || isReservedHeader(name) || !survivesUtf8(name) || !survivesUtf8(value))
      return false;
    bytes += nameBytes + Buffer.byteLength(value) + 6;
    if (bytes > HEADER_TABLE_BUDGET) return false;
  }
  return true;
}

/** Content of a framed message: a 4-byte length, that many bytes of JSON, then the body. @internal */
export function frame(meta: unknown, body: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length, 0);
  return Buffer.concat([length, json, body]);
}

/** Splits framed content; `undefined` when it is not framed content. @internal */
export function unframe(content: Buffer): { meta: unknown; body: Uint8Array } | undefined {
  if (content.length < 4) return undefined;
  const length = content.readUInt32BE(0);
  if (4 + length > content.length) return undefined;
  try {
    const meta: unknown = JSON.parse(content.subarray(4, 4 + length).toString('utf8'));
    return {
      meta,
      body: new Uint8Array(content.buffer, content.byteOffset + 4 + length, content.length - 4 - length),
    };
  } catch {
    return undefined;
  }
}

/** What amqplib publishes: the content and the properties. @internal */
export interface AmqpOut {
  readonly content: Buffer;
  readonly properties: {
    messageId: string;
    type: string;
    persistent: true;
    headers: Record<string, unknown>;
  };
}

/** Encodes a message for publishing. @internal */
export function encodeMessage(message: TransportMessage): AmqpOut {
  const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
  const properties = { messageId: message.id, type: message.topic, persistent: true as const };
  if (fitsHeaderTable(message)) {
    const headers: Record<string, unknown> = { ...message.headers };
    if (message.key !== undefined) headers[HEADER.key] = message.key;
    return { content: body, properties: { ...properties, headers } };
  }
  const meta =
    message.key === undefined ? { headers: message.headers } : { headers: message.headers, key: message.key };
  return { content: frame(meta, body), properties: { ...properties, headers: { [HEADER.framed]: 1 } } };
}

/** What amqplib gives a consumer: the parts {@link decodeMessage} reads. @internal */
export interface AmqpIn {
  readonly content: Buffer;
  readonly properties: { readonly messageId?: unknown; readonly type?: unknown; readonly headers?: unknown };
  readonly fields?: { readonly routingKey?: string } | undefined;
}

/** A header value as text: AMQP tables may hold numbers, booleans or bytes. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return undefined;
}

/** The AMQP headers of a delivery as a plain record (empty when missing). @internal */
export function amqpHeaders(message: AmqpIn): Record<string, unknown> {
  const headers = message.properties.headers;
  return typeof headers === 'object' && headers !== null ? (headers as Record<string, unknown>) : {};
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [name, header] of Object.entries(value)) if (typeof header === 'string') out[name] = header;
  return out;
}

/** Decodes a delivered AMQP message. @internal */
export function decodeMessage(amqp: AmqpIn): TransportMessage {
  const table = amqpHeaders(amqp);
  const id = text(amqp.properties.messageId) ?? '';
  const topic = text(amqp.properties.type) ?? amqp.fields?.routingKey ?? '';
  const framed = table[HEADER.framed] !== undefined ? unframe(amqp.content) : undefined;
  if (framed !== undefined) {
    const meta = (typeof framed.meta === 'object' && framed.meta !== null ? framed.meta : {}) as {
      headers?: unknown;
      key?: unknown;
    };
    const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
      id,
      topic,
      headers: stringRecord(meta.headers),
      body: framed.body,
    };
    if (typeof meta.key === 'string') message.key = meta.key;
    return message;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(table)) {
    if (isReservedHeader(name)) continue;
    const value_ = text(value);
    if (value_ !== undefined) headers[name] = value_;
  }
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id,
    topic,
    headers,
    body: new Uint8Array(amqp.content.buffer, amqp.content.byteOffset, amqp.content.byteLength),
  };
  const key = text(table[HEADER.key]);
  if (key !== undefined) message.key = key;
  return message;
}

/** A number from a header, or `undefined`. @internal */
export function numberHeader(table: Record<string, unknown>, name: string): number | undefined {
  const value = table[name];
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** What a delivery knows of its history, from the broker's counter and the transport's headers. @internal */
export interface History {
  readonly attempt: number;
  readonly previousTries: number;
  readonly firstFailedAt: number | undefined;
}

/**
 * The attempt of a delivery: deliveries before this copy was published, plus the quorum queue's
 * `x-delivery-count` (returns of this copy: nacks with requeue, closed channels, crashes), plus one.
 *
 * @internal
 */
export function historyOf(table: Record<string, unknown>): History {
  const before = Math.max(0, Math.trunc(numberHeader(table, HEADER.attempts) ?? 0));
  const returned = Math.max(0, Math.trunc(numberHeader(table, 'x-delivery-count') ?? 0));
  return {
    attempt: before + returned + 1,
    previousTries: Math.max(0, Math.trunc(numberHeader(table, HEADER.tries) ?? 0)),
    firstFailedAt: numberHeader(table, HEADER.firstFailedAt),
  };
}

/**
 * The headers of a copy re-published after a nack: the message's own headers, without the broker's,
 * and the history so far.
 *
 * @internal
 */
export function retryHeaders(table: Record<string, unknown>, history: History): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(table)) {
    if (name === HEADER.key || name === HEADER.framed || !isReservedHeader(name)) headers[name] = value;
  }
  headers[HEADER.attempts] = history.attempt;
  headers[HEADER.tries] = history.previousTries;
  if (history.firstFailedAt !== undefined) headers[HEADER.firstFailedAt] = history.firstFailedAt;
  return headers;
}
