import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { isTidingsError, type Delivery } from '@tidings/core';
import { eventually, gate, runOutageCase, startTcpProxy, type TcpProxy } from '@tidings/core/testing';
import { deletePrefix, REDIS_TEST_PORT, redisAvailable } from './test-support/server.ts';
import { redisTransport } from './transport.ts';

const available = await redisAvailable();
const prefixes: string[] = [];
afterAll(async () => {
  await Promise.all(prefixes.map((prefix) => deletePrefix(prefix)));
});

describe.skipIf(!available)('redis: connection loss (TCP proxy cut and restored)', () => {
  test('fails publishes fast while cut, then recovers by itself and delivers every confirmed publish', async () => {
    const proxy: TcpProxy = await startTcpProxy({ port: REDIS_TEST_PORT });
    const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const lost: string[] = [];
    try {
      const report = await runOutageCase({
        transport: redisTransport({
          url: `redis://127.0.0.1:${proxy.port}`,
          prefix,
          blockMs: 50,
          onError: (_error, context) => lost.push(context.where),
        }),
        interrupt: () => proxy.cut(),
        resume: () => proxy.restore(),
      });
      expect(report.problems).toEqual([]);
      expect(report.failedPublishes).toBeGreaterThanOrEqual(3);
      // Both connections (publishing, and the consumer's blocking reads) said once that they were lost.
      expect(lost).toContain('connection');
      // The client came back through the proxy by itself: more connections than the first two.
      expect(proxy.accepted).toBeGreaterThan(2);
      console.info(
        `[redis connection loss] ${report.confirmed} confirmed, ${report.failedPublishes} failed fast ` +
          `(slowest ${report.slowestFailureMs} ms), recovered ${report.recoveredAfterMs} ms after restore, ` +
          `${report.duplicates} redelivered`,
      );
    } finally {
      await proxy.close();
    }
  });
});

describe.skipIf(!available)('redis: settling while the connection is lost', () => {
  test('an ack that fails during the outage leads to a redelivery, not a lost message', async () => {
    const proxy = await startTcpProxy({ port: REDIS_TEST_PORT });
    const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const transport = redisTransport({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix,
      blockMs: 50,
      onError: () => undefined,
    });
    try {
      const deliveries: Delivery[] = [];
      const hold = gate();
      await transport.consume(
        { channel: 'c', group: 'g', topics: ['T'], concurrency: 1, ordered: false, leaseMs: 300 },
        async (delivery) => {
          deliveries.push(delivery);
          if (deliveries.length === 1) await hold.opened;
          else await delivery.ack();
        },
      );
      const id = randomUUID();
      await transport.publish('c', [{ id, topic: 'T', headers: {}, body: new Uint8Array([1, 2, 3]) }]);
      await eventually(() => deliveries.length === 1, { what: 'the first delivery' });

      proxy.cut();
      const failed = await deliveries[0]?.ack().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isTidingsError(failed, 'TIDINGS_UNAVAILABLE')).toBe(true);
      hold.open();
      proxy.restore();

      await eventually(() => deliveries.length === 2, {
        timeoutMs: 15_000,
        what: 'the redelivery of the message whose ack was lost',
      });
      expect(deliveries[1]?.message.id).toBe(id);
      expect(deliveries[1]?.attempt).toBe(2);
    } finally {
      await transport.close();
      await proxy.close();
    }
  });
});
