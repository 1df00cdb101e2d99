import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The server the integration tests use. @internal */
export const NATS_TEST_URL = process.env.TIDINGS_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A prefix no other test uses. @internal */
export function testPrefix(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

/**
 * Whether the test server answers with JetStream on. When it does not, prints one loud line saying
 * how to start it, and throws when `CI=true`, where a missing server is a failure, not a skip.
 *
 * @internal
 */
export async function natsAvailable(): Promise<boolean> {
  try {
    const nc = await connect({ servers: NATS_TEST_URL, timeout: 1_000, reconnect: false });
    try {
      await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
    } finally {
      await nc.close();
    }
    return true;
  } catch (error) {
    const missing =
      `no NATS server with JetStream at ${NATS_TEST_URL} (${(error as Error).message}; set TIDINGS_NATS_URL to use ` +
      'another). Start one with `nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server`.';
    if (process.env.CI === 'true')
      throw new Error(
        `@tidings/nats integration tests: ${missing} CI=true, so a missing server fails the run.`,
        { cause: error },
      );
    console.warn(`!!! @tidings/nats integration tests SKIPPED: ${missing}`);
    return false;
  }
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
