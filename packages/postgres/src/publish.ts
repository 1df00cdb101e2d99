import type { Pool } from 'pg';
import type { TransportMessage } from '@tidings/core';
import { encodeHeaders } from '@tidings/core';

/** The largest body the postgres transport accepts: 16 MiB (bytea could hold more; a queue should not). */
export const POSTGRES_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

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
