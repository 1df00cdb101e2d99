import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, test } from 'vitest';
import type { Transport } from '@tidings/core';
import {
  buildPackage,
  type ChildConsumer,
  describeTransportSuite,
  spawnChildConsumer,
} from '@tidings/core/testing';
import { deletePrefix, REDIS_TEST_URL, redisAvailable } from './test-support/server.ts';
import { REDIS_CAPABILITIES, redisTransport } from './transport.ts';

const available = await redisAvailable();
// The SIGKILL case runs a consumer in a child process, on the built package as an application would.
const build = available
  ? buildPackage(fileURLToPath(new URL('..', import.meta.url)))
  : { ok: false as const, reason: 'no server' };
if (available && !build.ok) console.warn(`[redis suite] the SIGKILL case is skipped: ${build.reason}`);

/** The prefix of each test's transport, by its channel, so that a spawned consumer uses the same keys. */
const prefixes = new Map<string, string>();
const children: ChildConsumer[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

/** Each test on a prefix of its own, deleted once the suite has closed the transport. */
function create({ channel }: { channel: string }): Transport {
  const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
  prefixes.set(channel, prefix);
  const transport = redisTransport({ url: REDIS_TEST_URL, prefix, blockMs: 50 });
  return {
    ...transport,
    async close() {
      await transport.close();
      await Promise.all(children.splice(0).map((child) => child.kill()));
      await deletePrefix(prefix);
      prefixes.delete(channel);
    },
  };
}

// Real time: XAUTOCLAIM idle times are the server's, which a manual clock cannot move.
describe.skipIf(!available)('redis (Redis Streams on a real server)', () => {
  describeTransportSuite(
    { describe, test },
    {
      name: 'redis',
      clock: 'system',
      capabilities: REDIS_CAPABILITIES,
      create,
      spawnConsumer: build.ok
        ? async ({ channel, group, topics, concurrency, leaseMs }) => {
            const prefix = prefixes.get(channel);
            if (prefix === undefined) throw new Error(`no transport was created for ${channel}`);
            const child = await spawnChildConsumer({
              module: build.entry,
              factory: 'redisTransport',
              args: { url: REDIS_TEST_URL, prefix, blockMs: 50 },
              consume: { channel, group, topics, concurrency, leaseMs },
            });
            children.push(child);
            return child;
          }
        : undefined,
    },
  );
});
