import { createClient } from 'redis';

/** The server the integration tests use. @internal */
export const REDIS_TEST_URL = process.env.TIDINGS_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Whether the test server answers. When it does not, prints one loud line saying how to start it,
 * and throws when `CI=true`, where a missing server is a failure, not a skip.
 *
 * @internal
 */
export async function redisAvailable(): Promise<boolean> {
  const client = createClient({
    url: REDIS_TEST_URL,
    socket: { connectTimeout: 1000, reconnectStrategy: false },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    await client.close();
    return true;
  } catch {
    const missing =
      `no Redis server at ${REDIS_TEST_URL} (set TIDINGS_REDIS_URL to use another). Start one with ` +
      '`redis-server --appendonly yes --maxmemory-policy noeviction --daemonize yes`.';
    if (process.env.CI === 'true')
      throw new Error(
        `@tidings/redis integration tests: ${missing} CI=true, so a missing server fails the run.`,
      );
    console.warn(`!!! @tidings/redis integration tests SKIPPED: ${missing}`);
    return false;
  }
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
