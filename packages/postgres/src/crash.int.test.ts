import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, test } from 'vitest';
import type { ChildConsumer } from '@tidings/core/testing';
import {
  buildPackage,
  describeTransportSuite,
  spawnChildConsumer,
  transportCases,
} from '@tidings/core/testing';
import type { PostgresTransportOptions } from './options.ts';
import { postgresTransport } from './transport.ts';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';

// The SIGKILL case on real time (a child process shares no manual clock); every other case runs on
// the manual clock in transport.suite.int.test.ts.
const schema = `crash_${randomBytes(4).toString('hex')}`;
const up = await serverUp();
// The child imports the built package, as an application would.
const build = up
  ? buildPackage(fileURLToPath(new URL('..', import.meta.url)))
  : { ok: false as const, reason: 'no server' };
if (up && !build.ok) console.warn(`[crash.int.test] the child-process case is skipped: ${build.reason}`);

if (up) {
  const children: ChildConsumer[] = [];
  // The child's factory arguments travel as JSON: plain strings and numbers only.
  const childArgs: PostgresTransportOptions = {
    connectionString: CONNECTION_STRING,
    schema,
    pollIntervalMs: 10,
  };
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.kill()));
  });
  afterAll(async () => {
    const client = new pg.Client({ connectionString: CONNECTION_STRING });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  const crashCase = 'redelivers what a consumer killed with SIGKILL was handling';
  describeTransportSuite(
    { describe, test, beforeEach, afterEach },
    {
      name: 'postgres, across processes',
      clock: 'system',
      create: ({ clock }) =>
        postgresTransport({ connectionString: CONNECTION_STRING, schema, clock, pollIntervalMs: 20 }),
      spawnConsumer: build.ok
        ? async (consume) => {
            const child = await spawnChildConsumer({
              module: build.entry,
              factory: 'postgresTransport',
              args: childArgs,
              consume,
            });
            children.push(child);
            return child;
          }
        : undefined,
      skip: transportCases
        .filter((transportCase) => transportCase.name !== crashCase)
        .map((transportCase) => ({
          test: transportCase.name,
          reason: 'runs on the manual clock in transport.suite.int.test.ts',
        })),
    },
  );
} else {
  test.skip('postgres SIGKILL case (server missing, see the warning above)', () => {});
}
