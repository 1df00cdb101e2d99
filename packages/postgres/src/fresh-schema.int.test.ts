import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';
import { postgresTransport } from './transport.ts';

const up = await serverUp();
const schema = `fresh_${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  if (!up) return;
  const client = new pg.Client({ connectionString: CONNECTION_STRING });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

describe.skipIf(!up)('postgres dead letters on a schema nothing was published to yet', () => {
  test('list, depth and discard answer (empty) instead of failing on missing tables', async () => {
    const transport = postgresTransport({ connectionString: CONNECTION_STRING, schema });
    try {
      expect(await transport.deadLetters.list({})).toEqual([]);
      expect(await transport.deadLetters.depth()).toEqual([]);
      expect(await transport.deadLetters.discard(['0193a0b0-0000-7000-8000-000000000000'])).toBe(0);
      expect(await transport.deadLetters.get('0193a0b0-0000-7000-8000-000000000000')).toBeUndefined();
    } finally {
      await transport.close();
    }
  });
});
