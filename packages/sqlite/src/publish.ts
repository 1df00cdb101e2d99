import type Database from 'better-sqlite3';
import type { TransportMessage } from '@tidings/core';
import { encodeHeaders } from '@tidings/core';

/** The largest body the sqlite transport accepts: 16 MiB. */
export const SQLITE_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const COLUMNS = '(id, channel, topic, key, published_at, headers, body)';
const ROW = '(?, ?, ?, ?, ?, ?, ?)';
/** Rows per INSERT statement: fewer, larger statements are most of what makes a batch fast. */
const CHUNKS = [64, 16, 4, 1] as const;

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
