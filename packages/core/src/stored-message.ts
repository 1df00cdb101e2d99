import type { TransportMessage } from './transport.ts';

/**
 * How a message maps onto a stored row, for every adapter that keeps messages in a table: headers as
 * a JSON object of strings (JSON escapes NUL and lone surrogates, so any JS string survives a UTF-8
 * text column), the body as bytes (a BLOB, a bytea).
 *
 * Reading is total: a row someone wrote by hand with garbage in it still becomes a message, with what
 * could be read, so that the bus (not the transport) decides it is invalid and dead-letters it.
 */

/** The message columns as stored. */
export interface MessageRow {
  readonly id: unknown;
  readonly topic: unknown;
  readonly key: unknown;
  readonly headers: unknown;
  readonly body: unknown;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Serialises headers for the `headers` column. */
export function encodeHeaders(headers: Readonly<Record<string, string>>): string {
  return JSON.stringify(headers);
}

/** Reads the `headers` column; keeps only string values, and gives `{}` for anything unreadable. */
export function decodeHeaders(value: unknown): Record<string, string> {
  if (typeof value !== 'string') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const record = parsed as Record<string, unknown>;
  // What we wrote is all strings: keep the parsed object as it is, and copy only a damaged one.
  for (const name in record) {
    if (typeof record[name] !== 'string') {
      const headers: Record<string, string> = {};
      for (const [key, header] of Object.entries(record))
        if (typeof header === 'string') headers[key] = header;
      return headers;
    }
  }
  return record as Record<string, string>;
}

/** Reads the `body` column as bytes without copying them; text becomes its UTF-8 bytes. */
export function decodeBody(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return encoder.encode(value);
  if (typeof value === 'number' || typeof value === 'bigint') return encoder.encode(String(value));
  return EMPTY;
}

/** A column that should hold text: numbers become their digits, anything else the empty string. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'bigint' ? String(value) : '';
}

/** Builds the message a row holds. */
export function rowToMessage(row: MessageRow): TransportMessage {
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: text(row.id),
    topic: text(row.topic),
    headers: decodeHeaders(row.headers),
    body: decodeBody(row.body),
  };
  if (typeof row.key === 'string') message.key = row.key;
  return message;
}
