import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { serverAvailable } from '@tidings/core/testing';

const run = promisify(execFile);

/** The broker the integration tests use. @internal */
export const RABBITMQ_TEST_URL = process.env.TIDINGS_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Whether the test broker answers (core's `serverAvailable`): one loud line saying how to start it
 * when it does not, and a failure when `CI=true`. @internal
 */
export function rabbitmqAvailable(): Promise<boolean> {
  return serverAvailable({
    tests: '@tidings/rabbitmq',
    server: `RabbitMQ at ${RABBITMQ_TEST_URL}`,
    start:
      'Start one with `rabbitmq-server -detached` (RabbitMQ 3.10 or later), or set TIDINGS_RABBITMQ_URL to use another.',
    probe: async () => {
      const connection = await connect(RABBITMQ_TEST_URL, { timeout: 2_000 });
      await connection.close();
    },
  });
}

/** A prefix under one root per test file, so one cleanup at the end finds everything the file made. @internal */
export function prefixes(name: string): { readonly root: string; next(): string } {
  const root = `tidings-test-${name}-${randomUUID().slice(0, 8)}`;
  let n = 0;
  return { root, next: () => `${root}-${(n += 1)}` };
}

async function listed(kind: 'list_queues' | 'list_exchanges'): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['-q', kind, 'name', '--no-table-headers'], {
    timeout: 30_000,
  });
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/**
 * Deletes every queue and exchange whose name starts with `root`: names are listed with `rabbitmqctl`
 * (AMQP cannot list them), then deleted over AMQP.
 *
 * @internal
 */
export async function deleteUnder(root: string, url = RABBITMQ_TEST_URL): Promise<void> {
  const [queues, exchanges] = await Promise.all([listed('list_queues'), listed('list_exchanges')]);
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues.filter((q) => q.startsWith(root))) await channel.deleteQueue(queue);
    for (const exchange of exchanges.filter((e) => e.startsWith(root)))
      await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}
