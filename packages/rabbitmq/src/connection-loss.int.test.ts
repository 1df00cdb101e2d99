import { afterAll, describe, expect, it } from 'vitest';
import { runOutageCase, startTcpProxy } from '@tidings/core/testing';
import { deleteUnder, prefixes, rabbitmqAvailable } from './test-support/server.ts';
import { rabbitmqTransport } from './transport.ts';

const available = await rabbitmqAvailable();
const names = prefixes('outage');
afterAll(async () => {
  if (available) await deleteUnder(names.root);
}, 60_000);

describe.skipIf(!available)('rabbitmq connection loss', () => {
  it('fails publishes fast while the connection is cut, then recovers and delivers every confirmed publish', async () => {
    const proxy = await startTcpProxy({ port: 5672 });
    const errors: string[] = [];
    try {
      const report = await runOutageCase({
        transport: rabbitmqTransport({
          url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
          prefix: names.next(),
          reconnectMaxDelayMs: 1_000,
          onError: (error, context) => errors.push(`${context.where}: ${String(error)}`),
        }),
        messages: 150,
        interrupt: () => proxy.cut(),
        resume: () => proxy.restore(),
        log: (line) => console.log(`[rabbitmq connection loss] ${line}`),
      });
      console.log(
        `[rabbitmq connection loss] slowest failure ${report.slowestFailureMs} ms, recovered after ${report.recoveredAfterMs} ms, ${report.duplicates} duplicates`,
      );
      expect(report.problems).toEqual([]);
      expect(proxy.accepted).toBeGreaterThan(1);
    } finally {
      await proxy.close();
    }
  }, 90_000);
});
