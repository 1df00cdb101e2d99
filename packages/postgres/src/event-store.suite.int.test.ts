import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, test } from 'vitest';
import { describeEventStoreSuite } from '@tidings/core/testing';
import { postgresEventStore } from './event-store.ts';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';

const up = await serverUp();

if (up) {
  // Every case in a schema of its own, all dropped at the end.
  const schemas: string[] = [];
  afterAll(async () => {
    const client = new pg.Client({ connectionString: CONNECTION_STRING });
    await client.connect();
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  describeEventStoreSuite(
    { describe, test },
    {
      name: 'postgres',
      clock: 'manual',
      capabilities: { durable: true, multiProcess: true },
      create: ({ catalog, clock, projections }) => {
        const schema = `store_${randomBytes(4).toString('hex')}`;
        schemas.push(schema);
        return postgresEventStore({
          connectionString: CONNECTION_STRING,
          schema,
          catalog,
          clock,
          projections,
        });
      },
    },
  );
} else {
  test.skip('postgres event store conformance (server missing, see the warning above)', () => {});
}
