import { fileURLToPath } from 'node:url';
import { afterEach, describe, test } from 'vitest';
import type { Transport } from '@tidings/core';
import {
  buildPackage,
  type ChildConsumer,
  describeTransportSuite,
  spawnChildConsumer,
} from '@tidings/core/testing';
import { deleteStreams, NATS_TEST_URL, natsAvailable, testPrefix } from './test-support/server.ts';
import { NATS_CAPABILITIES, natsTransport } from './transport.ts';

const available = await natsAvailable();
const built = available ? buildPackage(fileURLToPath(new URL('..', import.meta.url))) : undefined;
if (built !== undefined && !built.ok)
  console.warn(`!!! [nats suite] the SIGKILL case is SKIPPED: ${built.reason}`);

/** The prefix of each test's transport, by its channel, so that a spawned consumer uses the same streams. */
const prefixes = new Map<string, string>();
const children: ChildConsumer[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

/** Each test on a prefix of its own, whose streams are deleted once the suite has closed the transport. */
function create({ channel }: { channel: string }): Transport {
  const prefix = testPrefix();
  prefixes.set(channel, prefix);
  const transport = natsTransport({ servers: NATS_TEST_URL, prefix });
  return {
    ...transport,
    async close() {
      await transport.close();
      await Promise.all(children.splice(0).map((child) => child.kill()));
      await deleteStreams(prefix);
      prefixes.delete(channel);
    },
  };
}

// Real time: ack_wait and nak delays run on the server's clock, which a manual clock cannot move.
describe.skipIf(!available)('nats (JetStream on a real server)', () => {
  describeTransportSuite(
    { describe, test },
    {
      name: 'nats',
      clock: 'system',
      capabilities: NATS_CAPABILITIES,
      create,
      spawnConsumer:
        built?.ok === true
          ? async (consume) => {
              const prefix = prefixes.get(consume.channel);
              if (prefix === undefined) throw new Error(`no transport was created for ${consume.channel}`);
              const child = await spawnChildConsumer({
                module: built.entry,
                factory: 'natsTransport',
                args: { servers: NATS_TEST_URL, prefix },
                consume,
              });
              children.push(child);
              return child;
            }
          : undefined,
    },
  );
});
