import { randomUUID } from 'node:crypto';
import { describe, test } from 'vitest';
import type { Transport } from '@tidings/core';
import { describeTransportSuite } from '@tidings/core/testing';
import { REDIS_PUBSUB_CAPABILITIES, redisPubSubTransport } from './pubsub.ts';
import { deletePrefix, REDIS_TEST_URL, redisAvailable } from './test-support/server.ts';

const available = await redisAvailable();

/** Each test on a prefix of its own (its dead letters), deleted once the suite has closed the transport. */
function create(): Transport {
  const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
  const transport = redisPubSubTransport({ url: REDIS_TEST_URL, prefix });
  return {
    ...transport,
    async close() {
      await transport.close();
      await deletePrefix(prefix);
    },
  };
}

describe.skipIf(!available)('redis-pubsub (Redis Pub/Sub on a real server)', () => {
  describeTransportSuite(
    { describe, test },
    {
      name: 'redis-pubsub',
      clock: 'system',
      capabilities: REDIS_PUBSUB_CAPABILITIES,
      create,
      skip: [
        {
          test: 'redelivers what a consumer killed with SIGKILL was handling',
          reason:
            'Pub/Sub keeps nothing: what a killed process held is gone (persistent: false, leases: false)',
        },
      ],
    },
  );
});
