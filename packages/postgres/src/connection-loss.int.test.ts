import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { eventually, runOutageCase, startTcpProxy } from '@tidings/core/testing';
import type { Delivery } from '@tidings/core';
import type { PostgresErrorContext } from './options.ts';
import { postgresTransport } from './transport.ts';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';

// The shared server stays up; a proxy between it and the transport resets every connection and
// refuses new ones for a while, as a network partition or a failover would.
const schema = `outage_${randomBytes(4).toString('hex')}`;
const up = await serverUp();

if (up) {
  const target = new URL(CONNECTION_STRING);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  afterAll(async () => {
    await proxy.close();
    const client = new pg.Client({ connectionString: CONNECTION_STRING });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  test('survives a cut connection: publishes fail fast while it is cut, then everything confirmed is delivered', async () => {
    const through = new URL(CONNECTION_STRING);
    through.hostname = proxy.host;
    through.port = String(proxy.port);
    const errors: PostgresErrorContext['where'][] = [];
    const report = await runOutageCase({
      transport: postgresTransport({
        connectionString: through.href,
        schema,
        pollIntervalMs: 50,
        onError: (_error, context) => errors.push(context.where),
      }),
      interrupt: () => proxy.cut(),
      // Back only once the consumer side has felt the cut: its claims and its LISTEN connection failed.
      resume: async () => {
        await eventually(() => errors.includes('claim') && errors.includes('listen'), {
          timeoutMs: 10_000,
          what: () =>
            `the consumer loop and LISTEN to report the cut (saw ${[...new Set(errors)].join(', ')})`,
        });
        proxy.restore();
      },
      log: (line) => console.info(`[connection-loss] ${line}`),
    });
    expect(report.failedPublishes).toBeGreaterThanOrEqual(3);
    console.info(
      `[connection-loss] slowest failing publish ${report.slowestFailureMs} ms; publishing back ` +
        `${report.recoveredAfterMs} ms after the restore; ${report.duplicates} duplicate deliveries`,
    );
  }, 90_000);

  test('connects LISTEN again after a cut, so a publish from elsewhere wakes an idle consumer at once', async () => {
    const through = new URL(CONNECTION_STRING);
    through.hostname = proxy.host;
    through.port = String(proxy.port);
    const errors: PostgresErrorContext['where'][] = [];
    // Polling once a minute: within the test, only a notification can wake the consumer.
    const consuming = postgresTransport({
      connectionString: through.href,
      schema,
      pollIntervalMs: 60_000,
      onError: (_error, context) => errors.push(context.where),
    });
    const publishing = postgresTransport({ connectionString: CONNECTION_STRING, schema });
    const channel = `listen-${randomBytes(4).toString('hex')}`;
    const received: string[] = [];
    /** The server pids of sessions LISTENing for this schema. */
    const listeners = async (): Promise<number[]> => {
      const { rows } = await publishing.pool.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE query = $1 AND state = 'idle'",
        [`LISTEN "tidings.${schema}"`],
      );
      return rows.map((row) => row.pid);
    };
    try {
      await consuming.consume(
        { channel, group: 'g', topics: ['Pinged'], concurrency: 1, ordered: false, leaseMs: 5_000 },
        async (delivery) => {
          received.push(delivery.message.id);
          await delivery.ack();
        },
      );
      let before: number[] = [];
      await eventually(async () => (before = await listeners()).length > 0, {
        timeoutMs: 10_000,
        what: 'the LISTEN session to show up',
      });
      proxy.cut();
      await eventually(() => errors.includes('listen'), {
        timeoutMs: 10_000,
        what: 'LISTEN to report the cut',
      });
      proxy.restore();
      // A new session: the old one may linger on the server until it notices the reset.
      await eventually(async () => (await listeners()).some((pid) => !before.includes(pid)), {
        timeoutMs: 15_000,
        what: 'LISTEN to connect again',
      });
      await publishing.publish(channel, [
        { id: 'ping-1', topic: 'Pinged', headers: {}, body: new TextEncoder().encode('{}') },
      ]);
      await eventually(() => received.includes('ping-1'), {
        timeoutMs: 10_000,
        what: 'the notification to wake the consumer',
      });
      expect(received).toEqual(['ping-1']);
    } finally {
      await consuming.close();
      await publishing.close();
    }
  }, 60_000);

  test('retries an ack lost with its connection while the lease lasts, so the message is not redelivered', async () => {
    const through = new URL(CONNECTION_STRING);
    through.hostname = proxy.host;
    through.port = String(proxy.port);
    const errors: PostgresErrorContext['where'][] = [];
    const consuming = postgresTransport({
      connectionString: through.href,
      schema,
      pollIntervalMs: 50,
      onError: (_error, context) => errors.push(context.where),
    });
    const publishing = postgresTransport({ connectionString: CONNECTION_STRING, schema });
    const channel = `ack-${randomBytes(4).toString('hex')}`;
    const held: Delivery[] = [];
    try {
      await consuming.consume(
        { channel, group: 'g', topics: ['Pinged'], concurrency: 1, ordered: false, leaseMs: 20_000 },
        (delivery) => {
          held.push(delivery);
          return Promise.resolve();
        },
      );
      await publishing.publish(channel, [
        { id: 'ack-me', topic: 'Pinged', headers: {}, body: new TextEncoder().encode('{}') },
      ]);
      await eventually(() => held.length === 1, { what: 'the delivery' });
      proxy.cut();
      const acking = held[0]?.ack();
      // The cut is felt (the first tries of the ack fail too) before the way is open again.
      await eventually(() => errors.includes('listen') && errors.includes('claim'), {
        what: 'the consumer to report the cut',
      });
      proxy.restore();
      await acking;
      const { rows } = await publishing.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE channel = $1`,
        [channel],
      );
      expect(rows[0]?.n).toBe(0);
      expect(held).toHaveLength(1);
    } finally {
      await consuming.close();
      await publishing.close();
    }
  }, 60_000);

  test('closes while the connection is cut, releasing what it can and reporting the rest', async () => {
    const through = new URL(CONNECTION_STRING);
    through.hostname = proxy.host;
    through.port = String(proxy.port);
    const errors: PostgresErrorContext['where'][] = [];
    const consuming = postgresTransport({
      connectionString: through.href,
      schema,
      pollIntervalMs: 50,
      onError: (_error, context) => errors.push(context.where),
    });
    const channel = `close-${randomBytes(4).toString('hex')}`;
    const held: Delivery[] = [];
    try {
      await consuming.consume(
        { channel, group: 'g', topics: ['Pinged'], concurrency: 1, ordered: false, leaseMs: 30_000 },
        (delivery) => {
          held.push(delivery);
          return Promise.resolve();
        },
      );
      await consuming.publish(channel, [
        { id: 'stuck', topic: 'Pinged', headers: {}, body: new TextEncoder().encode('{}') },
      ]);
      await eventually(() => held.length === 1, { what: 'the delivery' });
      proxy.cut();
      await eventually(() => errors.includes('listen'), { what: 'LISTEN to report the cut' });
      // The delivery is unsettled: close tries to hand it back, cannot, and says so; the lease will do it.
      await consuming.close();
      expect(errors).toContain('release');
    } finally {
      proxy.restore();
      await consuming.close();
    }
  }, 60_000);
} else {
  test.skip('survives a cut connection (server missing, see the warning above)', () => {});
}
