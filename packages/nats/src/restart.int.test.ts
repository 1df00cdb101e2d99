import { afterAll, describe, expect, test } from 'vitest';
import { runOutageCase } from '@tidings/core/testing';
import {
  natsServerInstalled,
  NATS_SERVER_BIN,
  type PrivateServer,
  startPrivateServer,
} from './test-support/private-server.ts';
import { testPrefix } from './test-support/server.ts';
import { natsTransport } from './transport.ts';

const installed = natsServerInstalled();
if (!installed) {
  const missing = `no nats-server binary at ${NATS_SERVER_BIN} (set TIDINGS_NATS_SERVER to another)`;
  if (process.env.CI === 'true')
    throw new Error(`@tidings/nats restart test: ${missing}; CI=true, so this fails.`);
  console.warn(`!!! @tidings/nats restart test SKIPPED: ${missing}. Install nats-server 2.9 or later.`);
}

let server: PrivateServer | undefined;
afterAll(async () => {
  await server?.dispose();
});

describe.skipIf(!installed)('nats broker restart', () => {
  test('fails publishes fast while the server is down, then recovers after its restart and loses nothing', async () => {
    server = await startPrivateServer();
    const running = server;
    const report = await runOutageCase({
      transport: natsTransport({ servers: running.url, prefix: testPrefix(), onError: () => undefined }),
      interrupt: () => running.stop(),
      resume: () => running.start(),
      messages: 150,
    });
    expect(report.problems).toEqual([]);
    console.info(
      `[nats restart] slowest failure ${report.slowestFailureMs} ms, recovered after ${report.recoveredAfterMs} ms, ` +
        `${report.confirmed} confirmed, ${report.duplicates} duplicates`,
    );
  }, 60_000);
});
