import type { TransportMessage } from '@tidings/core';

/**
 * How a message maps onto stream entry fields. The body travels as a latin1 string (one char per
 * byte): node-redis sends strings as UTF-8 and decodes them back the same way, so the bytes survive
 * exactly, without base64's third more. Reading is total: a hand-made entry still becomes a message,
 * so that the bus (not the transport) decides it is invalid and dead-letters it.
 */

/** The fields of an entry, in order, as XADD takes them. @internal */
export function messageToFields(message: TransportMessage): string[] {
  const fields = [
    'id',
    message.id,
    'topic',
    message.topic,
    'headers',
    JSON.stringify(message.headers),
    'body',
    Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('latin1'),
  ];
  if (message.key !== undefined) fields.push('key', message.key);
  return fields;
}

function decodeHeaders(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const record = parsed as Record<string, unknown>;
  // What Tidings wrote is all strings: keep the parsed object as it is, without a copy.
  for (const name in record) if (typeof record[name] !== 'string') return onlyStrings(record);
  return record as Record<string, string>;
}

function onlyStrings(record: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(record)) if (typeof header === 'string') headers[name] = header;
  return headers;
}

/** The bytes a latin1 string holds (one char per byte), copied once. */
function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).write(text, 'latin1');
  return bytes;
}

/** Builds the message a flat RESP2 field list holds; a field given twice counts with its last value. @internal */
export function fieldsToMessage(fields: readonly string[], fallbackTopic: string): TransportMessage {
  let id: string | undefined;
  let topic: string | undefined;
  let headers: string | undefined;
  let body: string | undefined;
  let key: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1] as string;
    switch (fields[i]) {
      case 'id':
        id = value;
        break;
      case 'topic':
        topic = value;
        break;
      case 'headers':
        headers = value;
        break;
      case 'body':
        body = value;
        break;
      case 'key':
        key = value;
        break;
      default:
        break;
    }
  }
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: id ?? '',
    topic: topic ?? fallbackTopic,
    headers: decodeHeaders(headers),
    body: body === undefined ? new Uint8Array(0) : latin1Bytes(body),
  };
  if (key !== undefined) message.key = key;
  return message;
}

/** Every key the transport uses, under one prefix. @internal */
export interface Keys {
  /** The stream every group of the channel reads a topic from. */
  stream(channel: string, topic: string): string;
  /** A group's private stream of redeliveries (nacks, due delays, replays) of one topic. */
  retry(channel: string, topic: string, group: string): string;
  /** A group's delayed retries of one topic: a sorted set scored by due time. */
  delayed(channel: string, topic: string, group: string): string;
  /** Per group and channel: attempt, tries, first failure and lease token of each message in flight. */
  attempts(channel: string, group: string): string;
  readonly deadLetters: string;
  readonly deadLetterIndex: string;
  deadLetterGroup(group: string): string;
  readonly deadLetterGroups: string;
}

/** @internal */
export function keysFor(prefix: string): Keys {
  return {
    stream: (channel, topic) => `${prefix}:s:${channel}:${topic}`,
    retry: (channel, topic, group) => `${prefix}:r:${channel}:${topic}:${group}`,
    delayed: (channel, topic, group) => `${prefix}:d:${channel}:${topic}:${group}`,
    attempts: (channel, group) => `${prefix}:a:${channel}:${group}`,
    deadLetters: `${prefix}:dl`,
    deadLetterIndex: `${prefix}:dl:index`,
    deadLetterGroup: (group) => `${prefix}:dl:group:${group}`,
    deadLetterGroups: `${prefix}:dl:groups`,
  };
}

/**
 * A message as one Pub/Sub payload: a JSON line with its id, topic, key and headers, then the body's
 * bytes as they are. JSON never writes a raw newline, so the first one ends the header. @internal
 */
export function messageToFrame(message: TransportMessage): Buffer {
  const head = { id: message.id, topic: message.topic, key: message.key, headers: message.headers };
  return Buffer.concat([
    Buffer.from(`${JSON.stringify(head)}\n`, 'utf8'),
    Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
  ]);
}

/**
 * Reads a Pub/Sub payload back. Total, like {@link fieldsToMessage}: a payload someone else published
 * still becomes a message (with an empty id), so that the bus dead-letters it as invalid. @internal
 */
export function frameToMessage(frame: Buffer, fallbackTopic: string): TransportMessage {
  const end = frame.indexOf(0x0a);
  let head: Record<string, unknown> = {};
  if (end >= 0) {
    try {
      const parsed: unknown = JSON.parse(frame.subarray(0, end).toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        head = parsed as Record<string, unknown>;
    } catch {
      head = {};
    }
  }
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: text(head.id) ?? '',
    topic: text(head.topic) ?? fallbackTopic,
    headers: decodeHeaders(JSON.stringify(head.headers ?? {})),
    body: new Uint8Array(end >= 0 && text(head.id) !== undefined ? frame.subarray(end + 1) : frame),
  };
  const key = text(head.key);
  if (key !== undefined) message.key = key;
  return message;
}
