import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, type EventStore } from '@tidings/core';
import { createManualClock } from '@tidings/core/testing';
import { sqliteEventStore } from '@tidings/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../fixtures/run.ts';
import { main } from '../main.ts';
import { postgresStoreFixture } from '../fixtures/postgres-store.ts';
import { openStoreUrl } from '../store-url.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const START = Date.parse('2020-01-01T00:00:00Z');
const HOUR = 3_600_000;
const at = (hours: number): string => new Date(START + hours * HOUR).toISOString();
const placed = (orderId: string, total: number) => createEvent('OrderPlaced', 1, { orderId, total });
const paid = (orderId: string) => createEvent('OrderPaid', 2, { orderId });

/**
 * The streams the tests read, recorded by a manual clock: order-42 gets version 1 at hour 0, 2 and 3 at
 * hour 1, 4 at hour 2. Around it, a few streams to list, one deleted and one tombstoned.
 */
async function seed(store: EventStore, advance: (ms: number) => Promise<void>): Promise<void> {
  await store.append('order-42', [placed('42', 10)]);
  await advance(HOUR);
  await store.append('order-42', [paid('42'), createEvent('OrderNoted', 1, { note: 'x'.repeat(200) })]);
  await advance(HOUR);
  await store.append('order-42', [createEvent('OrderShipped', 1, { orderId: '42' })]);
  for (const name of ['order-7', 'order-420', 'cart-1', 'cart-2'])
    await store.append(name, [placed(name, 1)]);
  await store.deleteStream('cart-2');
  await store.deleteStream('order-7', { tombstone: true });
}

let db = '';
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-streams-'));
  dirs.push(dir);
  db = join(dir, 'shop.db');
  const clock = createManualClock(START);
  const store = sqliteEventStore({ file: db, clock });
  await seed(store, (ms) => clock.advance(ms));
  await store.close();
});

const table = (stdout: string): string[][] =>
  stdout
    .trimEnd()
    .split('\n')
    .filter((line) => /\S/.test(line))
    .map((line) => line.split(/\s{2,}/));

describe('tidings streams list', () => {
  it('prints the streams by name with version, last recorded time and state', async () => {
    const { code, stdout, stderr } = await run(['streams', 'list', '--store', `sqlite:${db}`]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const [header, ...rows] = table(stdout);
    expect(header).toEqual(['STREAM', 'VERSION', 'LAST RECORDED', 'STATE']);
    expect(rows.map((row) => [row[0], row[1], row[3] ?? ''])).toEqual([
      ['cart-1', '1', ''],
      ['cart-2', '1', 'deleted'],
      ['order-42', '4', ''],
      ['order-420', '1', ''],
      ['order-7', '1', 'tombstoned'],
    ]);
    expect(rows[2]?.[2]).toMatch(new RegExp(`^${at(2).replaceAll('.', '\\.')} \\(\\d+d ago\\)$`));
  });

  it('filters by prefix and pages with --limit and --after', async () => {
    const first = await run(['streams', 'list', '--db', db, '--prefix', 'order-', '--limit', '2']);
    expect(first.code).toBe(0);
    expect(table(first.stdout).map((row) => row[0])).toEqual([
      'STREAM',
      'order-42',
      'order-420',
      expect.any(String),
    ]);
    expect(first.stdout).toContain('More streams follow: pass --after "order-420" to list them.');
    const rest = await run([
      'streams',
      'list',
      '--db',
      db,
      '--prefix',
      'order-',
      '--after',
      'order-420',
      '--json',
    ]);
    expect(JSON.parse(rest.stdout)).toEqual({
      streams: [
        {
          stream: 'order-7',
          version: 1,
          truncateBefore: 2,
          deleted: false,
          tombstoned: true,
          lastRecordedAt: at(2),
        },
      ],
    });
    const none = await run(['streams', 'list', '--db', db, '--prefix', 'invoice-']);
    expect(none).toEqual({ code: 0, stdout: 'No streams start with "invoice-".\n', stderr: '' });
  });
});

describe('tidings streams read', () => {
  it('prints the metadata, then version, type, recorded time, position and compact data of each event', async () => {
    const { code, stdout, stderr } = await run(['streams', 'read', 'order-42', '--store', `sqlite:${db}`]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const [meta, events] = stdout.split('\n\n');
    expect(table(meta ?? '')).toEqual([
      ['stream', 'order-42'],
      ['version', '4'],
      ['last recorded', expect.stringMatching(/^2020-01-01T02:00:00\.000Z \(\d+d ago\)$/)],
    ]);
    const [header, ...rows] = table(events ?? '');
    expect(header).toEqual(['VERSION', 'TYPE', 'RECORDED', 'POSITION', 'DATA']);
    expect(rows.map((row) => row.slice(0, 4))).toEqual([
      ['1', 'OrderPlaced v1', at(0), '0000000000000001'],
      ['2', 'OrderPaid v2', at(1), '0000000000000002'],
      ['3', 'OrderNoted v1', at(1), '0000000000000003'],
      ['4', 'OrderShipped v1', at(2), '0000000000000004'],
    ]);
    expect(rows[0]?.[4]).toBe('{"orderId":"42","total":10}');
    expect(rows[2]?.[4]).toMatch(/^\{"note":"x+…$/);
    expect(rows[2]?.[4]).toHaveLength(120);
  });

  it('reads as of a version, given as v2 or 2, or as of a time, given as ISO or a duration back', async () => {
    const versions = async (...args: string[]): Promise<number[]> => {
      const { code, stdout, stderr } = await run([
        'streams',
        'read',
        'order-42',
        '--db',
        db,
        '--json',
        ...args,
      ]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      return (JSON.parse(stdout) as { events: { streamVersion: number }[] }).events.map(
        (e) => e.streamVersion,
      );
    };
    expect(await versions('--as-of', 'v2')).toEqual([1, 2]);
    expect(await versions('--as-of', '3')).toEqual([1, 2, 3]);
    expect(await versions('--as-of', at(1))).toEqual([1, 2, 3]);
    expect(await versions('--as-of', '2020-01-01T00:30:00Z')).toEqual([1]);
    expect(await versions('--as-of', '1h')).toEqual([1, 2, 3, 4]); // the events are years old
    const before = await run(['streams', 'read', 'order-42', '--db', db, '--as-of', '2019-12-31']);
    expect(before.stdout).toMatch(/as of +2019-12-31T00:00:00\.000Z\n\nNo events to show as of then/);
  });

  it('pages with --from, --backward and --limit, and says where the next page starts', async () => {
    const page = await run(['streams', 'read', 'order-42', '--db', db, '--backward', '--limit', '2']);
    expect(page.code).toBe(0);
    const rows = table(page.stdout.split('\n\n')[1] ?? '');
    expect(rows.slice(1, 3).map((row) => row[0])).toEqual(['4', '3']);
    expect(page.stdout).toContain('Showing 2; pass --from 2 to read on.');
    const { stdout } = await run(['streams', 'read', 'order-42', '--db', db, '--from', '3', '--json']);
    const read = JSON.parse(stdout) as {
      stream: { version: number };
      events: { data: unknown }[];
      next?: number;
    };
    expect(read.stream.version).toBe(4);
    expect(read.events.map((e) => e.data)).toEqual([{ note: 'x'.repeat(200) }, { orderId: '42' }]);
    expect(read.next).toBeUndefined();
  });

  it('says so when a deleted stream has no events to show', async () => {
    const { code, stdout } = await run(['streams', 'read', 'cart-2', '--db', db]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/state +deleted: every event is hidden until the next append/);
    expect(stdout).toContain('No events to show: the stream was deleted.');
  });

  it('exits with 2 for an unknown stream, naming streams that start so', async () => {
    const { code, stdout, stderr } = await run(['streams', 'read', 'order-4', '--db', db]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain('No stream "order-4" in the store: nothing was ever appended to it.');
    expect(stderr).toContain('Streams that start with "order-4": order-42, order-420.');
    expect(stderr).toContain('Run `tidings streams list` to see the streams');
  });

  it('exits with 2 for a bad --as-of, saying what it takes', async () => {
    const { code, stderr } = await run(['streams', 'read', 'order-42', '--db', db, '--as-of', 'yesterday']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/'yesterday' is invalid.*Pass a stream version \(12 or v12\), an ISO date\/time/);
  });
});

describe('choosing the store', () => {
  it('takes $TIDINGS_STORE_URL when --store is not given', async () => {
    let stdout = '';
    const code = await main(['node', 'tidings', 'streams', 'list', '--prefix', 'cart-'], {
      stdout: (text) => {
        stdout += text;
      },
      stderr: () => undefined,
      env: { TIDINGS_STORE_URL: `sqlite:${db}` },
    });
    expect(code).toBe(0);
    expect(table(stdout).map((row) => row[0])).toEqual(['STREAM', 'cart-1', 'cart-2']);
  });

  it('exits with 2 for a missing file or a URL that names no store', async () => {
    const missing = await run(['streams', 'list', '--store', 'sqlite:nowhere/shop.db']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No event store file at nowhere\/shop\.db .*pass --store sqlite:<file>/);
    const redis = await run(['streams', 'list', '--store', 'redis://127.0.0.1:6379']);
    expect(redis.code).toBe(2);
    expect(redis.stderr).toContain('is not an event store URL; give sqlite:<file> or postgres://');
  });
});

const { storeUrl, up: postgresUp, dropSchema } = await postgresStoreFixture('streams');

describe.skipIf(!postgresUp)('tidings streams on PostgreSQL', () => {
  afterAll(dropSchema);

  it('lists and reads the streams of a postgres:// store', async () => {
    const store = await openStoreUrl(storeUrl, process.cwd());
    await store.append('order-1', [placed('1', 5), paid('1')]);
    await store.close();
    const listed = await run(['streams', 'list', '--store', storeUrl]);
    expect(listed.code).toBe(0);
    expect(table(listed.stdout).map((row) => row.slice(0, 2))).toEqual([
      ['STREAM', 'VERSION'],
      ['order-1', '2'],
    ]);
    const read = await run(['streams', 'read', 'order-1', '--store', storeUrl, '--as-of', 'v1', '--json']);
    const { events } = JSON.parse(read.stdout) as { events: { type: string; position: string }[] };
    expect(events.map((e) => e.type)).toEqual(['OrderPlaced']);
    expect(events[0]?.position).toMatch(/^\d{20}-\d{20}$/);
  });
});
