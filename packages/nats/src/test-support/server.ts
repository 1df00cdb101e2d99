import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { serverAvailable } from '@tidings/core/testing';

/** The server the integration tests use. @internal */
export const NATS_TEST_URL = process.env.TIDINGS_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A prefix no other test uses. @internal */
export function testPrefix(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

/**
 * Whether the test server answers with JetStream on (core's `serverAvailable`): one loud line saying
 * how to start it when it does not, and a failure when `CI=true`. @internal
 */
export function natsAvailable(): Promise<boolean> {
  return serverAvailable({
    tests: '@tidings/nats',
    server: `NATS server with JetStream at ${NATS_TEST_URL}`,
    start:
      'Start one with `nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server`, or set TIDINGS_NATS_URL to use another.',
    probe: async () => {
      const nc = await connect({ servers: NATS_TEST_URL, timeout: 1_000, reconnect: false });
      try {
        await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
      } finally {
        await nc.close();
      }
    },
  });
}

/** Deletes every stream (with its consumers) of a prefix. @internal */
export async function deleteStreams(prefix: string, servers: string = NATS_TEST_URL): Promise<void> {
  const nc = await connect({ servers, timeout: 2_000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) names.push(name);
    for (const name of names) await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}
