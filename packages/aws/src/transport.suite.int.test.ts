import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, test } from 'vitest';
import {
  buildPackage,
  type ChildConsumer,
  describeTransportSuite,
  spawnChildConsumer,
} from '@tidings/core/testing';
import { AWS_TEST_OPTIONS, awsAvailable, deleteUnder, prefixes } from './test-support/server.ts';
import { AWS_CAPABILITIES, AWS_FIFO_CAPABILITIES, awsTransport } from './transport.ts';

const available = await awsAvailable();
const built = available ? buildPackage(fileURLToPath(new URL('..', import.meta.url))) : undefined;
if (built !== undefined && !built.ok)
  console.warn(`!!! [aws suite] the SIGKILL case is SKIPPED: ${built.reason}`);

const names = prefixes('suite');
const children: ChildConsumer[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});
afterAll(async () => {
  if (available) await deleteUnder(names.root);
}, 60_000);

// Real time: visibility timeouts are the emulator's, in whole seconds.
for (const fifo of [false, true]) {
  describe.skipIf(!available)(`aws (${fifo ? 'FIFO' : 'standard'} topics and queues on fauxqs)`, () => {
    /** The prefix of each test's transport, by its channel, so that a spawned consumer uses the same names. */
    const prefixOf = new Map<string, string>();
    describeTransportSuite(
      { describe, test },
      {
        name: fifo ? 'aws-fifo' : 'aws',
        clock: 'system',
        capabilities: fifo ? AWS_FIFO_CAPABILITIES : AWS_CAPABILITIES,
        create: ({ channel }) => {
          const prefix = names.next();
          prefixOf.set(channel, prefix);
          return awsTransport({
            ...AWS_TEST_OPTIONS,
            prefix,
            fifo,
            waitTimeSeconds: 1,
            deadLetterReadWaitSeconds: 0,
          });
        },
        spawnConsumer:
          built?.ok === true
            ? async (consume) => {
                const prefix = prefixOf.get(consume.channel);
                if (prefix === undefined) throw new Error(`no transport was created for ${consume.channel}`);
                const child = await spawnChildConsumer({
                  module: built.entry,
                  factory: 'awsTransport',
                  args: {
                    ...AWS_TEST_OPTIONS,
                    prefix,
                    fifo,
                    waitTimeSeconds: 1,
                    deadLetterReadWaitSeconds: 0,
                  },
                  consume,
                });
                children.push(child);
                return child;
              }
            : undefined,
      },
    );
  });
}
