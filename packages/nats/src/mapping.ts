import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { TransportMessage } from '@tidings/core';

/**
 * How Tidings names map onto JetStream names and subjects, and how a message maps onto a JetStream
 * message. A channel, group or topic can hold characters that NATS gives a meaning to (`.` separates
 * subject tokens, `*` and `>` are wildcards) or that a stream name cannot hold (it becomes a directory
 * name), so every name is escaped into `[A-Za-z0-9-]` plus `_XX` escapes: each byte of its UTF-8 form
 * outside that set becomes `_` and two hex digits. The escape is one-to-one (a raw `_` is escaped
 * too), so two names never share a stream, consumer or subject, and names made of letters, digits
 * and `-` read as they are.
 */

/** Escapes a name into a single subject token that is also a valid stream or consumer name. @internal */
export function escapeName(name: string): string {
  if (/^[A-Za-z0-9-]+$/.test(name)) return name;
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(char) ? char : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Reverses {@link escapeName}; gives `undefined` for a token it did not make. @internal */
export function unescapeName(token: string): string | undefined {
  if (!/^(?:[A-Za-z0-9-]|_[0-9a-f]{2})+$/.test(token)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i += 1) {
    if (token[i] === '_') {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Every stream name and subject the transport uses, under one prefix. @internal */
export interface Names {
  readonly prefix: string;
  /** The stream holding one channel's messages. */
  channelStream(channel: string): string;
  /** Every subject of a channel's stream, which is also the filter of each group's consumer. */
  channelSubjects(channel: string): string;
  /** Where a message of a topic is published: every group of the channel sees it. */
  topicSubject(channel: string, topic: string): string;
  /** Where a message meant for one group only is published (replays): other groups skip it. */
  groupSubject(channel: string, group: string, topic: string): string;
  /** Reads a subject of a channel's stream: its topic, and the group it is meant for when it is meant for one. */
  parseChannelSubject(subject: string): { group: string | undefined; topic: string } | undefined;
  /** The durable consumer of a group on a channel's stream. */
  consumer(group: string): string;
  readonly deadLetterStream: string;
  /** The subject of a group's dead letters from one channel. */
  deadLetterSubject(channel: string, group: string): string;
  /** A filter over every dead letter of a group, whatever its channel. */
  deadLetterGroupFilter(group: string): string;
  readonly deadLetterFilter: string;
  /** Reads a dead-letter subject back into its channel and group. */
  parseDeadLetterSubject(subject: string): { channel: string; group: string } | undefined;
  readonly triesStream: string;
  /** The subject holding what earlier deliveries of one stream message to one group recorded. */
  triesSubject(channel: string, group: string, sequence: number): string;
  /** The prefix of every stream name of this transport, for cleanup and doctor checks. */
  readonly streamPrefix: string;
}

/** @internal */
export function namesFor(prefix: string): Names {
  const channelToken = (channel: string): string => escapeName(channel);
  return {
    prefix,
    channelStream: (channel) => `${prefix}_ch_${channelToken(channel)}`,
    channelSubjects: (channel) => `${prefix}.ch.${channelToken(channel)}.>`,
    topicSubject: (channel, topic) => `${prefix}.ch.${channelToken(channel)}.m.${escapeName(topic)}`,
    groupSubject: (channel, group, topic) =>
      `${prefix}.ch.${channelToken(channel)}.g.${escapeName(group)}.${escapeName(topic)}`,
    parseChannelSubject(subject) {
      const tokens = subject.split('.');
      const topicToken = tokens.at(-1) ?? '';
      const topic = unescapeName(topicToken);
      if (topic === undefined) return undefined;
      if (tokens[3] === 'm' && tokens.length === 5) return { group: undefined, topic };
      if (tokens[3] === 'g' && tokens.length === 6) {
        const group = unescapeName(tokens[4] ?? '');
        return group === undefined ? undefined : { group, topic };
      }
      return undefined;
    },
    consumer: (group) => escapeName(group),
    deadLetterStream: `${prefix}_dlq`,
    deadLetterSubject: (channel, group) => `${prefix}.dlq.${channelToken(channel)}.${escapeName(group)}`,
    deadLetterGroupFilter: (group) => `${prefix}.dlq.*.${escapeName(group)}`,
    deadLetterFilter: `${prefix}.dlq.>`,
    parseDeadLetterSubject(subject) {
      const tokens = subject.split('.');
      if (tokens.length !== 4 || tokens[1] !== 'dlq') return undefined;
      const channel = unescapeName(tokens[2] ?? '');
      const group = unescapeName(tokens[3] ?? '');
      return channel === undefined || group === undefined ? undefined : { channel, group };
    },
    triesStream: `${prefix}_tries`,
    triesSubject: (channel, group, sequence) =>
      `${prefix}.tries.${channelToken(channel)}.${escapeName(group)}.${sequence}`,
    streamPrefix: `${prefix}_`,
  };
}

/** The header carrying what NATS headers cannot carry as they are: topic, key and the message's headers. */
export const ENVELOPE_HEADER = 'Tidings-Envelope';
/** Set instead when the envelope is too large for a header: its length in bytes at the start of the data. */
export const ENVELOPE_BYTES_HEADER = 'Tidings-Envelope-Bytes';
/** The header JetStream deduplicates publishes by. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';
/** JetStream refuses headers over 64 KiB in all; a larger envelope travels in front of the body. */
const MAX_ENVELOPE_HEADER_BYTES = 32 * 1024;

interface Envelope {
  readonly id: string;
  readonly topic: string;
  readonly key?: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Whether a message id can travel as `Nats-Msg-Id`: NATS header values cannot hold line breaks, and
 * the client trims surrounding spaces. Other ids (never made by Tidings) are published without
 * deduplication.
 *
 * @internal
 */
export function dedupableId(id: string): boolean {
  return id.length > 0 && id.length <= 512 && !/[\r\n]/.test(id) && id.trim() === id;
}

/** A message as JetStream stores it. @internal */
export interface NatsMessage {
  readonly headers: MsgHdrs;
  readonly data: Uint8Array;
  /** The size of the headers on the wire, which the server's max_payload counts too. */
  readonly headerBytes: number;
}

/**
 * The NATS form of a message: `Nats-Msg-Id` for deduplication, and the id, topic, key and headers as
 * one JSON envelope. Each Tidings header could be a NATS header of its own, but NATS trims values and
 * forbids line breaks; JSON keeps every string intact (it escapes line breaks, and lone surrogates
 * too). JetStream limits headers to 64 KiB, so an envelope over 32 KiB is put in front of the body
 * instead, its length in a header.
 *
 * @internal
 */
export function toNatsMessage(message: TransportMessage, msgId: string | undefined): NatsMessage {
  const headers = natsHeaders();
  if (msgId !== undefined) headers.set(MSG_ID_HEADER, msgId);
  const envelope: Envelope = {
    id: message.id,
    topic: message.topic,
    ...(message.key === undefined ? {} : { key: message.key }),
    headers: message.headers,
  };
  const json = JSON.stringify(envelope);
  const idBytes = msgId === undefined ? 0 : MSG_ID_HEADER.length + Buffer.byteLength(msgId) + 4;
  // "NATS/1.0\r\n", then "name: value\r\n" per header, then "\r\n".
  const frame = 12 + idBytes;
  const jsonBytes = Buffer.byteLength(json);
  if (jsonBytes <= MAX_ENVELOPE_HEADER_BYTES) {
    headers.set(ENVELOPE_HEADER, json);
    return { headers, data: message.body, headerBytes: frame + ENVELOPE_HEADER.length + jsonBytes + 4 };
  }
  const front = Buffer.from(json, 'utf8');
  headers.set(ENVELOPE_BYTES_HEADER, String(front.byteLength));
  const data = new Uint8Array(front.byteLength + message.body.byteLength);
  data.set(front, 0);
  data.set(message.body, front.byteLength);
  return { headers, data, headerBytes: frame + ENVELOPE_BYTES_HEADER.length + 16 };
}

function readEnvelope(value: string | undefined): Partial<Envelope> {
  if (value === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    const envelope: Partial<Envelope> = parsed;
    return envelope;
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
 * Builds the message a JetStream message holds. Reading is total: a message someone published by
 * hand, without the envelope, still becomes a message (with what could be read), so that the bus,
 * not the transport, decides it is invalid and dead-letters it.
 *
 * @internal
 */
export function toTransportMessage(
  headers: MsgHdrs | undefined,
  data: Uint8Array,
  fallbackTopic: string,
): TransportMessage {
  let json = headers?.get(ENVELOPE_HEADER) || undefined;
  let body = data;
  const frontBytes = Number(headers?.get(ENVELOPE_BYTES_HEADER) || Number.NaN);
  if (
    json === undefined &&
    Number.isInteger(frontBytes) &&
    frontBytes >= 0 &&
    frontBytes <= data.byteLength
  ) {
    json = Buffer.from(data.buffer, data.byteOffset, frontBytes).toString('utf8');
    body = data.subarray(frontBytes);
  }
  const envelope = readEnvelope(json);
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: typeof envelope.id === 'string' ? envelope.id : (headers?.get(MSG_ID_HEADER) ?? ''),
    topic: typeof envelope.topic === 'string' ? envelope.topic : fallbackTopic,
    headers: stringRecord(envelope.headers),
    body,
  };
  if (typeof envelope.key === 'string') message.key = envelope.key;
  return message;
}
