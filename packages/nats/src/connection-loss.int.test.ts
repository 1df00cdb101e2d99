import { afterAll, describe, expect, test } from 'vitest';
import { runOutageCase, startTcpProxy } from '@tidings/core/testing';
import { deleteStreams, NATS_TEST_URL, natsAvailable, testPrefix } from './test-support/server.ts';
import { natsTransport } from './transport.ts';

const available = await natsAvailable();
const prefix = testPrefix();

afterAll(async () => {
  if (available) await deleteStreams(prefix);
});

describe.skipIf(!available)('nats connection loss', () => {
  test('fails publishes fast while the connection is cut, then recovers and loses nothing confirmed', async () => {
    const port = Number(new URL(NATS_TEST_URL).port || 4222);
    const proxy = await startTcpProxy({ host: new URL(NATS_TEST_URL).hostname, port });
    try {
      const report = await runOutageCase({
        transport: natsTransport({
          servers: `nats://127.0.0.1:${proxy.port}`,
          prefix,
          onError: () => undefined,
        }),
        interrupt: () => proxy.cut(),
        resume: () => proxy.restore(),
        messages: 150,
      });
      expect(report.problems).toEqual([]);
      expect(report.failedPublishes).toBeGreaterThanOrEqual(3);
      console.info(
        `[nats connection loss] slowest failure ${report.slowestFailureMs} ms, recovered after ` +
          `${report.recoveredAfterMs} ms, ${report.confirmed} confirmed, ${report.duplicates} duplicates`,
      );
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
