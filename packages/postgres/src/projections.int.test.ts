import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it, test } from 'vitest';
import { createEvent, defineProjection, type Projection, runProjections } from '@tidings/core';
import { postgresEventStore } from './event-store.ts';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';

const up = await serverUp();
const schemas: string[] = [];
const newSchema = (): string => {
  const schema = `pj_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  return schema;
};
afterAll(async () => {
  if (!up) return;
  const client = new pg.Client({ connectionString: CONNECTION_STRING });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

const placed = (n: number) => createEvent('OrderPlaced', 1, { n });
/** Counts events per stream, and the sum of their numbers: a lost or doubled event changes both. */
const perStream = (version: number): Projection =>
  defineProjection({
    name: 'per-stream',
    version,
    events: ['OrderPlaced'],
    apply: (event, { documents }) =>
      documents.update<{ count: number; sum: number }>('streams', event.stream, (current) => ({
        count: (current?.count ?? 0) + 1,
        sum: (current?.sum ?? 0) + (event.data as { n: number }).n,
      })),
  });

describe.runIf(up)('projections on PostgreSQL', () => {
  it('takes a new inline version live while writers append, without losing or doubling an event', async () => {
    const schema = newSchema();
    const before = postgresEventStore({
      connectionString: CONNECTION_STRING,
      schema,
      projections: [perStream(1)],
    });
    await before.projections?.get('per-stream').live();
    // More history than one batch of the runner (500), so the writers below overlap the build.
    for (let i = 0; i < 1_200; i += 10) {
      await before.append(
        `s-${(i / 10) % 6}`,
        Array.from({ length: 10 }, (_, k) => placed(i + k)),
      );
    }
    await before.close();

    // A process with version 2 inline starts while four writers keep appending through it.
    const store = postgresEventStore({
      connectionString: CONNECTION_STRING,
      schema,
      projections: [perStream(2)],
    });
    const expected = new Map<string, { count: number; sum: number }>();
    for (let i = 0; i < 1_200; i += 1) {
      const stream = `s-${Math.floor(i / 10) % 6}`;
      const at = expected.get(stream) ?? { count: 0, sum: 0 };
      expected.set(stream, { count: at.count + 1, sum: at.sum + i });
    }
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < 25; i += 1) {
        const n = 10_000 * (w + 1) + i;
        const stream = `s-${(w + i) % 6}`;
        await store.append(stream, [placed(n)]);
        const at = expected.get(stream) ?? { count: 0, sum: 0 };
        expected.set(stream, { count: at.count + 1, sum: at.sum + n });
      }
    };
    await Promise.all([0, 1, 2, 3].map(writer));
    await store.projections?.get('per-stream').live();
    const rows = await store.projections
      ?.documents('per-stream')
      .list<{ count: number; sum: number }>('streams');
    expect(new Map(rows?.map((row) => [row.id, row.document]))).toEqual(expected);
    const states = (await store.projections?.status())?.map((s) => [s.version, s.status]);
    expect(states).toEqual([
      [1, 'retired'],
      [2, 'live'],
    ]);
    await store.close();
  });

  it('lets two runners of one async projection take turns without applying an event twice', async () => {
    const schema = newSchema();
    const store = postgresEventStore({ connectionString: CONNECTION_STRING, schema });
    const a = runProjections(store, { projections: [perStream(1)], batchSize: 5 });
    const other = postgresEventStore({ connectionString: CONNECTION_STRING, schema });
    const b = runProjections(other, { projections: [perStream(1)], batchSize: 5 });
    let last = '';
    for (let i = 0; i < 80; i += 1) last = (await store.append(`s-${i % 4}`, [placed(1)])).position;
    await a.get('per-stream').waitFor(last);
    const rows = await a.documents('per-stream').list<{ count: number }>('streams');
    expect(rows.map((row) => row.document.count)).toEqual([20, 20, 20, 20]);
    await Promise.all([a.close(), b.close()]);
    await Promise.all([store.close(), other.close()]);
  });
});

if (!up) test.skip('postgres projections (server missing, see the warning above)', () => {});

describe.runIf(up)('inline projections under concurrent appends', () => {
  it('queues read-modify-writes of one document: forty concurrent appends count forty', async () => {
    const counter = defineProjection({
      name: 'counter',
      events: ['OrderPlaced'],
      apply: (_event, { documents }) => documents.update<number>('totals', 'all', (n) => (n ?? 0) + 1),
    });
    const store = postgresEventStore({
      connectionString: CONNECTION_STRING,
      schema: newSchema(),
      projections: [counter],
    });
    await store.projections?.get('counter').live();
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.append(`s-${i}`, [placed(i)])));
    expect(await store.projections?.documents('counter').get('totals', 'all')).toBe(40);
    await store.close();
  });

  it('retries an append that PostgreSQL aborted to break a deadlock between two inline updates', async () => {
    const pairs = defineProjection({
      name: 'pairs',
      events: ['PairTouched'],
      async apply(event, { documents }) {
        const { first, second } = event.data as { first: string; second: string };
        await documents.update<number>('touched', first, (n) => (n ?? 0) + 1);
        await documents.update<number>('touched', second, (n) => (n ?? 0) + 1);
      },
    });
    const store = postgresEventStore({
      connectionString: CONNECTION_STRING,
      schema: newSchema(),
      projections: [pairs],
      // PostgreSQL looks for deadlocks after deadlock_timeout (1 s): a waiting append must outlast a few.
      queryTimeoutMs: 30_000,
    });
    await store.projections?.get('pairs').live();
    const touch = (i: number) =>
      store.append(`p-${i}`, [
        createEvent(
          'PairTouched',
          1,
          i % 2 === 0 ? { first: 'a', second: 'b' } : { first: 'b', second: 'a' },
        ),
      ]);
    // Fewer appends at once than the pool has connections: each holds one while it waits for a lock.
    await Promise.all(Array.from({ length: 6 }, (_, i) => touch(i)));
    const documents = store.projections?.documents('pairs');
    expect([await documents?.get('touched', 'a'), await documents?.get('touched', 'b')]).toEqual([6, 6]);
    await store.close();
  });
});
