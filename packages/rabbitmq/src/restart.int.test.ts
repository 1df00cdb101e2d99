import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOutageCase } from '@tidings/core/testing';
import { type PrivateNode, startPrivateNode } from './test-support/private-node.ts';
import { rabbitmqTransport } from './transport.ts';

/** A first boot takes about 20 s here on an idle machine; other test files share the two cores. */
const START_TIMEOUT_MS = 60_000;

let node: PrivateNode | undefined;
let skipped: string | undefined;
beforeAll(async () => {
  const started = await startPrivateNode(START_TIMEOUT_MS);
  if (started.ok) node = started.node;
  else {
    skipped = started.reason;
    console.warn(
      `!!! @tidings/rabbitmq broker-restart test SKIPPED: could not start a private node: ${skipped}`,
    );
  }
}, START_TIMEOUT_MS + 10_000);
afterAll(async () => {
  await node?.destroy();
}, 30_000);

describe('rabbitmq broker restart (a private node, stopped and started again)', () => {
  it('fails publishes fast while the broker is down, then recovers and delivers every confirmed publish', async (ctx) => {
    if (node === undefined) {
      ctx.skip(`could not start a private RabbitMQ node: ${skipped ?? 'unknown reason'}`);
      return;
    }
    const privateNode = node;
    const report = await runOutageCase({
      transport: rabbitmqTransport({
        url: privateNode.url,
        prefix: 'tidings-restart',
        reconnectMaxDelayMs: 1_000,
        onError: () => undefined,
      }),
      messages: 150,
      interrupt: () => privateNode.stop(),
      resume: () => privateNode.start(),
      log: (line) => console.log(`[rabbitmq restart] ${line}`),
    });
    console.log(
      `[rabbitmq restart] slowest failure ${report.slowestFailureMs} ms, recovered after ${report.recoveredAfterMs} ms, ${report.duplicates} duplicates`,
    );
    expect(report.problems).toEqual([]);
  }, 120_000);
});
