import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, test } from 'vitest';
import { describeTransportSuite } from '@tidings/core/testing';
import { postgresTransport } from './transport.ts';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';

// One schema for this file, made by the first transport and dropped at the end; every case has its
// own channel in it, so files (and other runs) never see each other's rows.
const schema = `suite_${randomBytes(4).toString('hex')}`;
const up = await serverUp();

if (up) {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: CONNECTION_STRING });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  // The transport takes every time from the suite's manual clock (SQL never calls now()). The SIGKILL
  // case needs a child process, which cannot share a manual clock: it runs in crash.int.test.ts.
  describeTransportSuite(
    { describe, test, beforeEach, afterEach },
    {
      name: 'postgres',
      clock: 'manual',
      create: ({ clock }) =>
        postgresTransport({ connectionString: CONNECTION_STRING, schema, clock, pollIntervalMs: 100 }),
    },
  );
} else {
  test.skip('postgres transport conformance (server missing, see the warning above)', () => {});
}
