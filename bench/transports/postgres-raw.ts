import pg from 'pg';
import { readPayload } from './common.ts';
import type { RawClient, RawConsumer } from './raw.ts';

const LEASE_MS = 30_000;
const POLL_MS = 200;

/**
 * pg on its own: one queue table per stream (the message and its delivery state in one row), a
 * publish is one multi-row INSERT plus pg_notify in one statement (one transaction, one commit), a
 * consumer claims a batch with `UPDATE … FOR UPDATE SKIP LOCKED`, reads it and deletes it (the ack).
 */
export function rawPostgres(connectionString: string, schema: string): RawClient {
  const pool = new pg.Pool({ connectionString, max: 10 });
  const s = `"${schema}"`;
  const tables = new Map<string, Promise<void>>();
  const table = (stream: string): string => `${s}."q_${stream.replaceAll(/\W/g, '_')}"`;
  const channelOf = (stream: string): string => `${schema}.${stream}`;
  let schemaMade: Promise<unknown> | undefined;
  const ensure = (stream: string): Promise<void> => {
    let made = tables.get(stream);
    if (made === undefined) {
      made = (async () => {
        schemaMade ??= pool.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await schemaMade;
        await pool.query(`CREATE TABLE IF NOT EXISTS ${table(stream)} (
          seq bigserial PRIMARY KEY, id text NOT NULL, topic text NOT NULL, key text,
          headers text NOT NULL, body bytea NOT NULL, available_at bigint NOT NULL,
          attempt integer NOT NULL DEFAULT 0)`);
        await pool.query(
          `CREATE INDEX IF NOT EXISTS "q_${stream.replaceAll(/\W/g, '_')}_due" ON ${table(stream)} (available_at, seq)`,
        );
      })();
      tables.set(stream, made);
    }
    return made;
  };

  return {
    peer: 'pg: INSERT … unnest + pg_notify (one statement) / UPDATE … SKIP LOCKED claim + DELETE',
    async publish(stream, messages) {
      await ensure(stream);
      await pool.query(
        `WITH ins AS (
           INSERT INTO ${table(stream)} (id, topic, key, headers, body, available_at)
           SELECT id, topic, key, headers, body, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
             AS x(id, topic, key, headers, body)
           RETURNING 1)
         SELECT pg_notify($7, '') FROM (SELECT count(*) FROM ins) AS n`,
        [
          messages.map((m) => m.id),
          messages.map((m) => m.topic),
          messages.map((m) => m.key ?? null),
          messages.map((m) => JSON.stringify(m.headers)),
          messages.map((m) => Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength)),
          Date.now(),
          channelOf(stream),
        ],
      );
    },
    async consume(stream, concurrency, onMessage): Promise<RawConsumer> {
      await ensure(stream);
      const listener = await pool.connect();
      let stopped = false;
      let wake: (() => void) | undefined;
      let woken = false;
      listener.on('notification', () => {
        woken = true;
        wake?.();
      });
      await listener.query(`LISTEN "${channelOf(stream)}"`);
      const claim = `UPDATE ${table(stream)} q SET available_at = $1, attempt = q.attempt + 1
        WHERE q.seq IN (SELECT seq FROM ${table(stream)} WHERE available_at <= $2 ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING q.seq, q.id, q.headers, q.body`;
      const loop = (async () => {
        while (!stopped) {
          woken = false;
          const now = Date.now();
          const claimed = await pool.query<{ seq: string; id: string; headers: string; body: Buffer }>(
            claim,
            [now + LEASE_MS, now, concurrency],
          );
          if (claimed.rows.length > 0) {
            for (const row of claimed.rows) {
              JSON.parse(row.headers);
              readPayload(row.body);
            }
            await pool.query(`DELETE FROM ${table(stream)} WHERE seq = ANY($1::bigint[])`, [
              claimed.rows.map((row) => row.seq),
            ]);
            for (const row of claimed.rows) onMessage(row.id);
            continue;
          }
          if (woken) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      })();
      return {
        async stop() {
          stopped = true;
          wake?.();
          await loop;
          listener.release(true);
        },
      };
    },
    async close() {
      await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await pool.end();
    },
  };
}
