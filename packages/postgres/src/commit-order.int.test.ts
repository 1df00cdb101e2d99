import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import type { TransportMessage } from '@tidings/core';
import { postgresTransport } from './transport.ts';
import type { PostgresTransport } from './transport.ts';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';

const schema = `order_${randomBytes(4).toString('hex')}`;
const up = await serverUp();
const PUBLISHERS = 20;
const PER_PUBLISHER = 25;
const HELD_MS = 1000;

const message = (id: string): TransportMessage => ({
  id,
  topic: 'Tick',
  key: undefined,
  headers: { 'content-type': 'application/json' },
  body: new TextEncoder().encode(JSON.stringify({ id })),
});

/**
 * A pool whose every query runs in a transaction held open for `ms` before COMMIT: the message row
 * takes its seq at once, but commits after rows with higher seqs from the other publishers.
 */
function slowCommitPool(ms: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: CONNECTION_STRING, max: 2 });
  const query = async (text: string, values?: unknown[]): Promise<pg.QueryResult> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await client.query(text, values);
      if (/INSERT INTO .*messages/s.test(text)) await sleep(ms);
      await client.query('COMMIT');
      return result;
    } finally {
      client.release();
    }
  };
  return Object.assign(pool, { query });
}

if (up) {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: CONNECTION_STRING });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  test('never skips a row committed late: 20 concurrent publishers and one transaction held open 1 s', async () => {
    const channel = 'ticks';
    const consumerSide = postgresTransport({
      connectionString: CONNECTION_STRING,
      schema,
      pollIntervalMs: 50,
    });
    const received: string[] = [];
    const consumer = await consumerSide.consume(
      { channel, group: 'counters', topics: ['Tick'], concurrency: 8, ordered: false, leaseMs: 30_000 },
      async (delivery) => {
        received.push(delivery.message.id);
        await delivery.ack();
      },
    );

    // Each publisher on its own pool of one connection: separate sessions, separate transactions.
    const publishers: PostgresTransport[] = Array.from({ length: PUBLISHERS }, () =>
      postgresTransport({ pool: new pg.Pool({ connectionString: CONNECTION_STRING, max: 1 }), schema }),
    );
    const slowPool = slowCommitPool(HELD_MS);
    const slow = postgresTransport({ pool: slowPool, schema });
    const sent: string[] = ['slow'];
    const held = slow.publish(channel, [message('slow')]);
    await sleep(50); // the slow transaction has its seq now
    await Promise.all(
      publishers.map(async (publisher, p) => {
        for (let i = 0; i < PER_PUBLISHER; i += 1) {
          await sleep(randomInt(5));
          const id = `p${p}-${i}`;
          sent.push(id);
          await publisher.publish(channel, [message(id)]);
        }
      }),
    );
    await held;

    const deadline = Date.now() + 15_000;
    while (received.length < sent.length && Date.now() < deadline) await sleep(20);
    await consumer.close();

    const missing = sent.filter((id) => !received.includes(id));
    assert.deepEqual(missing, [], `${missing.length} of ${sent.length} messages never arrived`);
    expect(new Set(received).size).toBe(sent.length);

    // The trap was real: rows with higher seqs than the slow one were delivered before it committed,
    // so a consumer keeping "the highest seq seen" as its offset would have skipped it.
    const { rows } = await consumerSide.pool.query<{ id: string; seq: string }>(
      `SELECT id, seq FROM "${schema}".messages WHERE channel = $1`,
      [channel],
    );
    const seqOf = new Map(rows.map((row) => [row.id, Number(row.seq)]));
    const slowSeq = seqOf.get('slow') ?? Number.NaN;
    const before = received.slice(0, received.indexOf('slow'));
    expect(before.some((id) => (seqOf.get(id) ?? 0) > slowSeq)).toBe(true);

    await Promise.all([...publishers, slow, consumerSide].map((t) => t.close()));
    await Promise.all([...publishers.map((t) => t.pool.end()), slowPool.end()]);
  });
} else {
  test.skip('postgres commit order (server missing, see the warning above)', () => {});
}
