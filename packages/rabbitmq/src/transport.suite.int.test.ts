import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, test } from 'vitest';
import {
  buildPackage,
  type ChildConsumer,
  describeTransportSuite,
  spawnChildConsumer,
} from '@tidings/core/testing';
import { deleteUnder, prefixes, RABBITMQ_TEST_URL, rabbitmqAvailable } from './test-support/server.ts';
import { RABBITMQ_CAPABILITIES, rabbitmqTransport } from './transport.ts';

const available = await rabbitmqAvailable();
const built = available ? buildPackage(fileURLToPath(new URL('..', import.meta.url))) : undefined;
if (built !== undefined && !built.ok)
  console.warn(`!!! [rabbitmq suite] the SIGKILL case is SKIPPED: ${built.reason}`);

const names = prefixes('suite');
/** The prefix of each test's transport, by its channel, so that a spawned consumer uses the same names. */
const prefixOf = new Map<string, string>();
const children: ChildConsumer[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});
afterAll(async () => {
  if (available) await deleteUnder(names.root);
}, 60_000);

// Real time: message TTLs of the delay buckets are the broker's.
describe.skipIf(!available)('rabbitmq (quorum queues on a real broker)', () => {
  describeTransportSuite(
    { describe, test },
    {
      name: 'rabbitmq',
      clock: 'system',
      capabilities: RABBITMQ_CAPABILITIES,
      create: ({ channel }) => {
        const prefix = names.next();
        prefixOf.set(channel, prefix);
        return rabbitmqTransport({ url: RABBITMQ_TEST_URL, prefix });
      },
      spawnConsumer:
        built?.ok === true
          ? async (consume) => {
              const prefix = prefixOf.get(consume.channel);
              if (prefix === undefined) throw new Error(`no transport was created for ${consume.channel}`);
              const child = await spawnChildConsumer({
                module: built.entry,
                factory: 'rabbitmqTransport',
                args: { url: RABBITMQ_TEST_URL, prefix },
                consume,
              });
              children.push(child);
              return child;
            }
          : undefined,
    },
  );
});
