import type Database from 'better-sqlite3';
import { invalidOptions, TidingsError } from '@tidings/core';
import type { TransportMessage } from '@tidings/core';
import { encodeHeaders } from './mapping.ts';

/** The largest body the sqlite transport accepts: 16 MiB. */
export const SQLITE_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const COLUMNS = '(id, channel, topic, key, published_at, headers, body)';
const ROW = '(?, ?, ?, ?, ?, ?, ?)';
/** Rows per INSERT statement: fewer, larger statements are most of what makes a batch fast. */
const CHUNKS = [64, 16, 4, 1] as const;

/**
 * Checks a publish before anything is written, so that a batch is refused whole.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every malformed message, or
 *   `TIDINGS_UNSUPPORTED` for a body over {@link SQLITE_MAX_MESSAGE_BYTES}.
 * @internal
 */
export function checkPublish(channel: unknown, messages: unknown): void {
  const problems: string[] = [];
  if (typeof channel !== 'string' || channel.length === 0)
    problems.push('channel must be a non-empty string');
  if (!Array.isArray(messages))
    throw invalidOptions('sqliteTransport.publish', [...problems, 'messages must be an array']);
  for (let index = 0; index < messages.length; index += 1) {
    const message = messages[index] as Partial<TransportMessage> | null;
    const where = `messages[${index}]`;
    if (typeof message !== 'object' || message === null) {
      problems.push(`${where} must be an object`);
      continue;
    }
    if (typeof message.id !== 'string') problems.push(`${where}.id must be a string`);
    if (typeof message.topic !== 'string' || message.topic.length === 0)
      problems.push(`${where}.topic must be a non-empty string`);
    if (message.key !== undefined && typeof message.key !== 'string')
      problems.push(`${where}.key must be a string when given`);
    if (typeof message.headers !== 'object' || message.headers === null)
      problems.push(`${where}.headers must be an object`);
    if (!(message.body instanceof Uint8Array)) problems.push(`${where}.body must be a Uint8Array`);
  }
  if (problems.length > 0) throw invalidOptions('sqliteTransport.publish', problems);
  for (const message of messages as TransportMessage[]) {
    if (message.body.byteLength > SQLITE_MAX_MESSAGE_BYTES) {
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `Message ${message.id} has a ${message.body.byteLength}-byte body; the sqlite transport accepts at most ` +
          `${SQLITE_MAX_MESSAGE_BYTES}. Store large payloads elsewhere and publish a reference.`,
        { details: { id: message.id, bytes: message.body.byteLength, max: SQLITE_MAX_MESSAGE_BYTES } },
      );
    }
  }
}

/**
 * Writes messages and their fan-out (one delivery per group subscribed to the message's channel and
 * topic) in one immediate transaction. A batch is inserted a chunk of rows per statement, then fanned
 * out by one INSERT … SELECT over the seq range it created: the write lock makes that range ours.
 *
 * @internal
 */
export function createPublisher(
  db: Database.Database,
): (channel: string, messages: readonly TransportMessage[], now: number) => void {
  const inserts = new Map(
    CHUNKS.map((size) => [
      size,
      db.prepare(
        `INSERT INTO tidings_messages ${COLUMNS} VALUES ${Array.from({ length: size }, () => ROW).join(', ')}`,
      ),
    ]),
  );
  const lastSeq = db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM tidings_messages').pluck();
  // OR REPLACE: a stray delivery row left on a reused seq must not make every later publish fail.
  const fanOutOne = db.prepare(
    `INSERT OR REPLACE INTO tidings_deliveries (seq, group_name, channel, topic, key, available_at)
     SELECT ?, group_name, channel, topic, iif(ordered, ?, NULL), ? FROM tidings_subscriptions
     WHERE channel = ? AND topic = ?`,
  );
  const fanOutSince = db.prepare(
    `INSERT OR REPLACE INTO tidings_deliveries (seq, group_name, channel, topic, key, available_at)
     SELECT m.seq, s.group_name, m.channel, m.topic, iif(s.ordered, m.key, NULL), m.published_at
     FROM tidings_messages m JOIN tidings_subscriptions s ON s.channel = m.channel AND s.topic = m.topic
     WHERE m.seq > ?`,
  );

  const row = (channel: string, message: TransportMessage, now: number): unknown[] => [
    message.id,
    channel,
    message.topic,
    message.key ?? null,
    now,
    encodeHeaders(message.headers),
    message.body,
  ];

  const insertOne = db.prepare(`INSERT INTO tidings_messages ${COLUMNS} VALUES ${ROW}`);

  const publish = db.transaction(
    (channel: string, messages: readonly TransportMessage[], now: number): void => {
      const [first] = messages;
      if (first === undefined) return;
      if (messages.length === 1) {
        const { lastInsertRowid } = insertOne.run(row(channel, first, now));
        fanOutOne.run(lastInsertRowid, first.key ?? null, now, channel, first.topic);
        return;
      }
      const before = lastSeq.get() ?? 0;
      let index = 0;
      for (const size of CHUNKS) {
        const insert = inserts.get(size);
        while (insert !== undefined && messages.length - index >= size) {
          const values: unknown[] = [];
          for (const message of messages.slice(index, index + size))
            values.push(...row(channel, message, now));
          insert.run(values);
          index += size;
        }
      }
      fanOutSince.run(before);
    },
  );
  return (channel, messages, now) => publish.immediate(channel, messages, now);
}
