import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { isTidingsError, type TransportMessage } from '@tidings/core';
import { eventually, runOutageCase } from '@tidings/core/testing';
import { type PrivateRedis, redisServerAvailable, startPrivateRedis } from './test-support/private-server.ts';
import { redisTransport } from './transport.ts';

const available = await redisServerAvailable();
const servers: PrivateRedis[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

describe.skipIf(!available)('redis: broker restart (a private redis-server killed and started again)', () => {
  test('with AOF and appendfsync always, a SIGKILL loses no confirmed publish and everything resumes by itself', async () => {
    const server = await startPrivateRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    servers.push(server);
    const reported: string[] = [];
    const report = await runOutageCase({
      transport: redisTransport({
        url: server.url,
        prefix: `restart-${randomUUID().slice(0, 8)}`,
        blockMs: 50,
        onError: (_error, context) => reported.push(context.where),
      }),
      interrupt: () => server.kill(),
      resume: () => server.start(),
    });
    expect(report.problems).toEqual([]);
    expect(report.failedPublishes).toBeGreaterThanOrEqual(3);
    expect(reported).toContain('connection');
    console.info(
      `[redis restart] ${report.confirmed} confirmed, ${report.failedPublishes} failed fast ` +
        `(slowest ${report.slowestFailureMs} ms), recovered ${report.recoveredAfterMs} ms after restart, ` +
        `${report.duplicates} redelivered`,
    );
  });
});

const message = (n: number): TransportMessage => ({
  id: randomUUID(),
  topic: 'ParcelScanned',
  headers: { 'content-type': 'application/json' },
  body: new TextEncoder().encode(JSON.stringify({ n })),
});

describe.skipIf(!available)('redis: what a restart keeps', () => {
  test('confirmed publishes nobody had read yet, and the group, survive a SIGKILL of the server', async () => {
    const server = await startPrivateRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    servers.push(server);
    const transport = redisTransport({ url: server.url, blockMs: 50, onError: () => undefined });
    try {
      const options = {
        channel: 'orders',
        group: 'durable',
        topics: ['ParcelScanned'],
        concurrency: 4,
        ordered: false,
        leaseMs: 5_000,
      };
      // The group exists from its first consume on; then nobody reads while the messages come in.
      await (await transport.consume(options, () => Promise.resolve())).close();
      const sent = Array.from({ length: 50 }, (_, n) => message(n));
      await transport.publish('orders', sent.slice(0, 25));
      for (const one of sent.slice(25)) await transport.publish('orders', [one]);

      await server.kill();
      await server.start();

      const received = new Set<string>();
      // Consuming fails fast until the transport has reconnected by itself, as a publish does.
      await eventually(
        async () => {
          try {
            await transport.consume(options, async (delivery) => {
              received.add(delivery.message.id);
              await delivery.ack();
            });
            return true;
          } catch (error) {
            if (isTidingsError(error, 'TIDINGS_UNAVAILABLE')) return false;
            throw error;
          }
        },
        { what: 'the transport to reconnect and consume' },
      );
      await eventually(() => received.size === sent.length, {
        what: () => `${received.size} of ${sent.length} after the restart`,
      });
      expect([...received].sort()).toEqual(sent.map((m) => m.id).sort());
    } finally {
      await transport.close();
    }
  });
});

describe.skipIf(!available)('redis: a restart that loses everything', () => {
  test('without AOF the group is gone after a restart; the consumer makes it again and carries on', async () => {
    const server = await startPrivateRedis(['--appendonly', 'no']);
    servers.push(server);
    const reported: unknown[] = [];
    const transport = redisTransport({
      url: server.url,
      blockMs: 50,
      onError: (error) => reported.push(error),
    });
    try {
      const received = new Set<string>();
      await transport.consume(
        {
          channel: 'c',
          group: 'g',
          topics: ['ParcelScanned'],
          concurrency: 1,
          ordered: false,
          leaseMs: 5_000,
        },
        async (delivery) => {
          received.add(delivery.message.id);
          await delivery.ack();
        },
      );
      await server.kill();
      await server.start();
      // Published until one arrives: those sent before the group exists again are not for it.
      await eventually(
        async () => {
          await transport.publish('c', [message(received.size)]).catch(() => undefined);
          return received.size > 0;
        },
        { what: 'a delivery after the restart' },
      );
      expect(reported.some((error) => error instanceof Error && error.message.startsWith('NOGROUP'))).toBe(
        true,
      );
    } finally {
      await transport.close();
    }
  });
});
