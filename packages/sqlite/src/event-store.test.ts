import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, isTidingsError, type RecordedEvent, subscribeToAll } from '@tidings/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteEventStore } from './event-store.ts';
import { EVENT_STORE_SCHEMA_VERSION } from './event-store-schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'tidings-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = (): string => join(dir, `store-${(files += 1)}.db`);
const deposit = (amount: number) => createEvent('FundsDeposited', 1, { amount });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('sqliteEventStore', () => {
  it('keeps events across close and reopen of the file', async () => {
    const file = newFile();
    const first = sqliteEventStore({ file });
    const appended = await first.append('acc-1', [deposit(1), deposit(2)], { expectedVersion: 'no-stream' });
    await first.close();
    const second = sqliteEventStore({ file });
    const read = await second.readStream('acc-1');
    expect(read.events.map((e) => e.data)).toEqual([{ amount: 1 }, { amount: 2 }]);
    expect(read.events[1]?.position).toBe(appended.position);
    const next = await second.append('acc-2', [deposit(3)]);
    expect(next.position > appended.position).toBe(true);
    await second.close();
  });

  it('fails with TIDINGS_MALFORMED naming stream, version and position for a damaged row', async () => {
    const store = sqliteEventStore({ file: ':memory:' });
    await store.append('acc', [deposit(1)]);
    const { position } = await store.append('acc', [deposit(2)]);
    store.database.prepare("UPDATE tidings_events SET data = '{oops' WHERE version = 2").run();
    const error = await failure(store.readStream('acc'));
    expect(isTidingsError(error, 'TIDINGS_MALFORMED')).toBe(true);
    expect((error as Error).message).toMatch(
      new RegExp(`event 2 of stream "acc" at position ${position}.*damaged`),
    );
    const all = await failure(store.readAll());
    expect(isTidingsError(all, 'TIDINGS_MALFORMED')).toBe(true);
    store.database.prepare("UPDATE tidings_events SET time = x'01' WHERE version = 1").run();
    const missing = await failure(store.readStream('acc'));
    expect((missing as Error).message).toMatch(
      /event 1 of stream "acc".*a required column is missing or of the wrong type/,
    );
    await store.close();
  });

  it("works in the application's own database and leaves it open", async () => {
    const database = new Database(':memory:');
    const store = sqliteEventStore({ database });
    await store.append('s', [deposit(1)]);
    await store.close();
    expect(database.open).toBe(true);
    const version = database
      .prepare("SELECT value FROM tidings_meta WHERE name = 'event_store_schema_version'")
      .pluck()
      .get();
    expect(version).toBe(EVENT_STORE_SCHEMA_VERSION);
    const again = sqliteEventStore({ database });
    expect((await again.readStream('s')).streamVersion).toBe(1);
    database.close();
  });

  it('refuses a database migrated by a newer release', () => {
    const database = new Database(':memory:');
    sqliteEventStore({ database });
    database.prepare("UPDATE tidings_meta SET value = 99 WHERE name = 'event_store_schema_version'").run();
    expect(() => sqliteEventStore({ database })).toThrow(/event store schema version 99/);
    database.close();
  });

  it('lists every problem with its options at once', () => {
    expect(() =>
      sqliteEventStore({
        file: '',
        catalog: {},
        clock: 1,
        synchronous: 'OFF',
        busyTimeoutMs: -1,
        extra: 1,
      } as never),
    ).toThrow(/6 problems.*file.*unknown option "extra".*catalog.*clock.*synchronous.*busyTimeoutMs/);
  });

  it('fails with TIDINGS_UNAVAILABLE, writing nothing, while another connection holds the write lock', async () => {
    const file = join(dir, 'busy.db');
    const store = sqliteEventStore({ file, busyTimeoutMs: 20 });
    await store.append('acc', [deposit(1)]);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const error: unknown = await store.append('acc', [deposit(2)]).catch((caught: unknown) => caught);
      expect(isTidingsError(error, 'TIDINGS_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toMatch(
        /write lock for longer than busyTimeoutMs \(20 ms\); nothing was written/,
      );
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const { streamVersion } = await store.readStream('acc');
    expect(streamVersion).toBe(1);
    expect((await store.append('acc', [deposit(3)])).streamVersion).toBe(2);
    await store.close();
  });

  it("keeps a subscription's checkpoint in the file, across close and reopen", async () => {
    const file = newFile();
    const amounts = (seen: RecordedEvent[]) => seen.map((e) => (e.data as { amount: number }).amount);
    const first = sqliteEventStore({ file });
    const { position: third } = await first.append('acc', [deposit(1), deposit(2), deposit(3)]);
    const before: RecordedEvent[] = [];
    const sub = subscribeToAll(first, { name: 'emails', handler: (e) => void before.push(e) });
    await sub.waitFor(third);
    await sub.close();
    await first.close();

    const second = sqliteEventStore({ file });
    expect(await second.checkpoints.load('emails')).toBe(third);
    const { position: fifth } = await second.append('acc', [deposit(4), deposit(5)]);
    const after: RecordedEvent[] = [];
    const resumed = subscribeToAll(second, { name: 'emails', handler: (e) => void after.push(e) });
    await resumed.waitFor(fifth);
    await resumed.close();
    expect([amounts(before), amounts(after)]).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    await second.close();
  });

  it('moves a checkpoint back only by reset, and checks what it is given', async () => {
    const store = sqliteEventStore({ file: ':memory:' });
    const { checkpoints } = store;
    await checkpoints.save('relay', '0000000000000009');
    await checkpoints.save('relay', '0000000000000003');
    expect(await checkpoints.load('relay')).toBe('0000000000000009');
    await checkpoints.reset('relay', '0000000000000002');
    expect(await checkpoints.load('relay')).toBe('0000000000000002');
    await checkpoints.reset('relay');
    expect(await checkpoints.load('relay')).toBeUndefined();
    const bad = await failure(checkpoints.save('relay', '00000000000000000042-00000000000000000001'));
    expect(isTidingsError(bad, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    expect((bad as Error).message).toMatch(/checkpoints\.save\("relay"\).*position must be a position/);
    await store.close();
    expect(isTidingsError(await failure(checkpoints.load('relay')), 'TIDINGS_CLOSED')).toBe(true);
  });

  it('adds the checkpoints table to a database of the first event store schema', async () => {
    const database = new Database(':memory:');
    const store = sqliteEventStore({ database });
    await store.checkpoints.save('relay', '0000000000000001');
    database.exec('DROP TABLE tidings_checkpoints');
    database.prepare("UPDATE tidings_meta SET value = 1 WHERE name = 'event_store_schema_version'").run();
    const upgraded = sqliteEventStore({ database });
    expect(await upgraded.checkpoints.load('relay')).toBeUndefined();
    await upgraded.checkpoints.save('relay', '0000000000000002');
    expect(await upgraded.checkpoints.load('relay')).toBe('0000000000000002');
    database.close();
  });

  it('says it is closed after close', async () => {
    const store = sqliteEventStore({ file: ':memory:' });
    await store.close();
    const error = await failure(store.append('s', [deposit(1)]));
    expect(isTidingsError(error, 'TIDINGS_CLOSED')).toBe(true);
  });
});
