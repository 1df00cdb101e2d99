import { createHash } from 'node:crypto';
import type { TransportMessage } from '@tidings/core';
import { MAX_QUEUE_NAME } from './options.ts';

/**
 * How Tidings maps onto SNS and SQS names, and a message onto an SNS message.
 *
 * The body travels as the SNS message itself (raw delivery hands it to SQS unchanged): as text when it
 * is text SNS accepts, else base64. Three message attributes go with it, well under SNS's ten:
 * `topic` (what subscription filter policies match), `subject` (the ordering key, for filter policies
 * of your own) and `tidings`, one JSON attribute with the id, the key and every CloudEvents header, so
 * that any number of headers costs one attribute.
 */

/** Every topic and queue name the transport uses, under one prefix. @internal */
export interface Names {
  /** The SNS topic of a channel. */
  topic(channel: string): string;
  /** The SQS queue of a group on a channel. */
  queue(channel: string, group: string): string;
  /** The FIFO queue that keeps the dead letters of every group. */
  readonly deadLetters: string;
}

const NAME_CHARS = /^[A-Za-z0-9_-]+$/;
const hash = (text: string, length: number): string =>
  createHash('sha256').update(text).digest('hex').slice(0, length);

/** `text` with every character SNS and SQS refuse in names made `_`, cut to `max`. */
function clean(text: string, max: number): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, max);
}

/** @internal */
export function namesFor(prefix: string, fifo: boolean): Names {
  const suffix = fifo ? '.fifo' : '';
  return {
    // Readable as `<prefix>-<channel>` when the channel is a valid name; hashed when it must be changed.
    topic: (channel) => {
      const plain = `${prefix}-${channel}`;
      const max = 256 - suffix.length;
      if (NAME_CHARS.test(plain) && plain.length <= max) return plain + suffix;
      return `${clean(plain, max - 9)}-${hash(`${prefix}\u0000${channel}`, 8)}${suffix}`;
    },
    // Channel and group names may hold "-" themselves, so the hash keeps two pairs from meeting.
    queue: (channel, group) => {
      const tail = `-${hash(`${prefix}\u0000${channel}\u0000${group}`, 8)}${suffix}`;
      return clean(`${prefix}-${channel}-${group}`, MAX_QUEUE_NAME - tail.length) + tail;
    },
    deadLetters: `${prefix}-dead-letters.fifo`,
  };
}

/** The message attributes the transport writes. @internal */
export const ATTRIBUTE = { topic: 'topic', subject: 'subject', meta: 'tidings' } as const;

/** What the `tidings` attribute holds. @internal */
export interface Meta {
  readonly id: string;
  readonly key?: string;
  readonly headers: Readonly<Record<string, string>>;
  /** `base64` when the body did not travel as text. */
  readonly enc?: 'base64';
}

/** Characters SNS and SQS accept in messages and attribute values (the XML 1.0 set). */
const ACCEPTED = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/** Whether SNS and SQS carry this text unchanged. @internal */
export const acceptedText = (text: string): boolean => ACCEPTED.test(text);

const decoder = new TextDecoder('utf-8', { fatal: true });

/** JSON with the two characters JSON leaves alone but SQS refuses (U+FFFE, U+FFFF) escaped. @internal */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** A message attribute as the SDKs take it. @internal */
export interface StringAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

/** A message ready for SNS Publish(Batch) or SQS SendMessage(Batch). @internal */
export interface Encoded {
  readonly body: string;
  readonly attributes: Record<string, StringAttribute>;
  /** What SNS counts against its 256 KiB: the body, and each attribute's name, type and value. */
  readonly bytes: number;
}

const text = (value: string): StringAttribute => ({ DataType: 'String', StringValue: value });

/** A body as SNS and SQS carry it: as itself when it is text they accept, else base64. @internal */
export function encodeBody(bytes: Uint8Array): { text: string; base64: boolean } {
  try {
    const text = decoder.decode(bytes);
    if (acceptedText(text)) return { text, base64: false };
  } catch {
    // Not UTF-8: base64 below.
  }
  return {
    text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    base64: true,
  };
}

/** Encodes a message for SNS or SQS. @internal */
export function encodeMessage(message: TransportMessage): Encoded {
  const body = encodeBody(message.body);
  const meta: Meta = {
    id: message.id,
    ...(message.key === undefined ? {} : { key: message.key }),
    headers: message.headers,
    ...(body.base64 ? { enc: 'base64' as const } : {}),
  };
  const attributes: Record<string, StringAttribute> = {
    [ATTRIBUTE.topic]: text(message.topic),
    [ATTRIBUTE.meta]: text(safeJson(meta)),
  };
  if (message.key !== undefined && message.key !== '' && acceptedText(message.key))
    attributes[ATTRIBUTE.subject] = text(message.key);
  let bytes = Buffer.byteLength(body.text);
  for (const [name, value] of Object.entries(attributes))
    bytes += Buffer.byteLength(name) + value.DataType.length + Buffer.byteLength(value.StringValue);
  return { body: body.text, attributes, bytes };
}

/** Group and deduplication ids: printable ASCII, at most 128 characters; others are hashed. */
const FIFO_ID = /^[\x21-\x7E]{1,128}$/;
const fifoId = (value: string): string => (FIFO_ID.test(value) ? value : `h-${hash(value, 64)}`);

/**
 * The FIFO fields of a message: its subject orders it (a message without one is a group of its own),
 * its id deduplicates it.
 *
 * @internal
 */
export function fifoFields(
  message: TransportMessage,
  dedup = message.id,
): { MessageGroupId: string; MessageDeduplicationId: string } {
  const key = message.key === undefined || message.key === '' ? undefined : message.key;
  return {
    MessageGroupId: key === undefined ? fifoId(`id:${message.id}`) : fifoId(key),
    MessageDeduplicationId: fifoId(dedup),
  };
}

/** What an SQS message brings: the parts {@link decodeMessage} reads. @internal */
export interface SqsIn {
  readonly MessageId?: string | undefined;
  readonly Body?: string | undefined;
  readonly MessageAttributes?: Record<string, { StringValue?: string | undefined }> | undefined;
}

function readMeta(raw: string | undefined): Partial<Meta> {
  if (raw === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [name, header] of Object.entries(value)) if (typeof header === 'string') out[name] = header;
  return out;
}

/**
 * Decodes a received SQS message. Reading is total: a message someone else sent still becomes one
 * (with the SQS id and no headers), so the bus, not the transport, finds it invalid and dead-letters it.
 *
 * @internal
 */
export function decodeMessage(sqs: SqsIn): TransportMessage {
  const attributes = sqs.MessageAttributes ?? {};
  const meta = readMeta(attributes[ATTRIBUTE.meta]?.StringValue);
  const rawBody = sqs.Body ?? '';
  const body = meta.enc === 'base64' ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8');
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: typeof meta.id === 'string' ? meta.id : (sqs.MessageId ?? ''),
    topic: attributes[ATTRIBUTE.topic]?.StringValue ?? '',
    headers: stringRecord(meta.headers),
    body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
  };
  if (typeof meta.key === 'string') message.key = meta.key;
  return message;
}

/** The most topics one filter policy may list: SNS allows 150 values in a policy. @internal */
export const MAX_POLICY_TOPICS = 150;

/** The filter policy of a subscription to `topics`, or `undefined` when SNS cannot hold it. @internal */
export function topicPolicy(topics: readonly string[]): string | undefined {
  const unique = [...new Set(topics)].sort();
  if (unique.length === 0 || unique.length > MAX_POLICY_TOPICS) return undefined;
  if (!unique.every(acceptedText)) return undefined;
  return JSON.stringify({ [ATTRIBUTE.topic]: unique });
}

/**
 * The topics of an existing filter policy, when it is one the transport wrote (`{"topic": [...]}`);
 * `undefined` for none or for a policy of someone else's.
 *
 * @internal
 */
export function policyTopics(policy: string | undefined): string[] | undefined {
  if (policy === undefined || policy === '') return undefined;
  try {
    const parsed = JSON.parse(policy) as Record<string, unknown>;
    const keys = Object.keys(parsed);
    const topics = parsed[ATTRIBUTE.topic];
    if (keys.length !== 1 || !Array.isArray(topics) || !topics.every((t) => typeof t === 'string'))
      return undefined;
    return topics;
  } catch {
    return undefined;
  }
}

/** The largest SNS message, body and attributes together. */
export const SNS_MAX_BYTES = 256 * 1024;
