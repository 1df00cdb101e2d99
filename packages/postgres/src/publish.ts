import type { Pool } from 'pg';
import { invalidOptions, TidingsError } from '@tidings/core';
import type { TransportMessage } from '@tidings/core';
import { encodeHeaders } from './mapping.ts';

/** The largest body the postgres transport accepts: 16 MiB (bytea could hold more; a queue should not). */
export const POSTGRES_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Checks a publish before anything is written, so that a batch is refused whole.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every malformed message, or
 *   `TIDINGS_UNSUPPORTED` for a body over {@link POSTGRES_MAX_MESSAGE_BYTES}.
 * @internal
 */
export function checkPublish(channel: unknown, messages: unknown): void {
  const problems: string[] = [];
  if (typeof channel !== 'string' || channel.length === 0)
    problems.push('channel must be a non-empty string');
  if (!Array.isArray(messages))
    throw invalidOptions('postgresTransport.publish', [...problems, 'messages must be an array']);
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
  if (problems.length > 0) throw invalidOptions('postgresTransport.publish', problems);
  for (const message of messages as TransportMessage[]) {
    if (message.body.byteLength > POSTGRES_MAX_MESSAGE_BYTES) {
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `Message ${message.id} has a ${message.body.byteLength}-byte body; the postgres transport accepts at most ` +
          `${POSTGRES_MAX_MESSAGE_BYTES}. Store large payloads elsewhere and publish a reference.`,
        { details: { id: message.id, bytes: message.body.byteLength, max: POSTGRES_MAX_MESSAGE_BYTES } },
      );
    }
  }
}

const toBuffer = (body: Uint8Array): Buffer => Buffer.from(body.buffer, body.byteOffset, body.byteLength);

/**
 * Writes messages, their fan-out (one delivery per group subscribed to the message's channel and
 * topic) and the wake-up notification in ONE statement, hence one transaction: the NOTIFY is sent at
 * commit, when the deliveries it announces are visible.
 *
 * @internal
 */
export function createPublisher(
  pool: Pool,
  schema: string,
  notifyChannel: string,
): (channel: string, messages: readonly TransportMessage[], now: number) => Promise<void> {
  const sql = `
    WITH input AS (
      SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[])
        WITH ORDINALITY AS x(id, topic, key, headers, body, ord)
    ), inserted AS (
      INSERT INTO ${schema}.messages (id, channel, topic, key, published_at, headers, body)
      SELECT id, $1, topic, key, $7, headers, body FROM input ORDER BY ord
      RETURNING seq, channel, topic, key, published_at
    ), fanned AS (
      INSERT INTO ${schema}.deliveries (seq, group_name, channel, topic, key, available_at)
      SELECT i.seq, s.group_name, i.channel, i.topic, CASE WHEN s.ordered THEN i.key END, i.published_at
      FROM inserted i JOIN ${schema}.subscriptions s ON s.channel = i.channel AND s.topic = i.topic
      RETURNING 1
    )
    SELECT pg_notify($8, $1) FROM (SELECT count(*) FROM fanned) AS f`;
  return async (channel, messages, now) => {
    await pool.query(sql, [
      channel,
      messages.map((m) => m.id),
      messages.map((m) => m.topic),
      messages.map((m) => m.key ?? null),
      messages.map((m) => encodeHeaders(m.headers)),
      messages.map((m) => toBuffer(m.body)),
      now,
      notifyChannel,
    ]);
  };
}
