import { createClient } from 'redis';
import { serverAvailable } from '@tidings/core/testing';

/** The server the integration tests use. @internal */
export const REDIS_TEST_URL = process.env.TIDINGS_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The port of the test server, for a proxy in front of it. @internal */
export const REDIS_TEST_PORT = Number(new URL(REDIS_TEST_URL).port || 6379);

/**
 * Whether the test server answers (core's `serverAvailable`): one loud line saying how to start it when
 * it does not, and a failure when `CI=true`. @internal
 */
export function redisAvailable(): Promise<boolean> {
  return serverAvailable({
    tests: '@tidings/redis',
    server: `Redis at ${REDIS_TEST_URL}`,
    start:
      'Start one with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379`, or set TIDINGS_REDIS_URL to use another.',
    probe: async () => {
      const client = createClient({
        url: REDIS_TEST_URL,
        socket: { connectTimeout: 1000, reconnectStrategy: false },
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.ping();
      } finally {
        if (client.isOpen) client.destroy();
      }
    },
  });
}

/** Deletes every key under a prefix. @internal */
export async function deletePrefix(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_TEST_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}
