import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTidingsError } from '@tidings/core';
import type { InboxStore } from '@tidings/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqliteInbox } from './inbox.ts';
import { createManualClock, harness } from './test-support/harness.ts';

describe('sqliteInbox', () => {
  it('remembers a key until it expires, and prunes what expired', async () => {
    const clock = createManualClock();
    const inbox = sqliteInbox({ file: ':memory:', clock, retentionMs: 1000 });
    expect(await inbox.has('source/1')).toBe(false);
    await inbox.add('source/1');
    await inbox.add('source/2', clock.now() + 5000);
    expect(await inbox.has('source/1')).toBe(true);
    await clock.advance(1000);
    expect(await inbox.has('source/1')).toBe(false);
    expect(await inbox.has('source/2')).toBe(true);
    expect(await inbox.prune()).toBe(1);
    expect(await inbox.prune(clock.now() + 5000)).toBe(1);
    expect(await inbox.has('source/2')).toBe(false);
    await inbox.close();
  });

  it('is an InboxStore for the idempotent middleware, answering for the time it is given', async () => {
    const clock = createManualClock();
    const store: InboxStore = sqliteInbox({ file: ':memory:', clock });
    await store.add('g|source|1', clock.now() + 100);
    expect(await store.has('g|source|1', clock.now() + 99)).toBe(true);
    expect(await store.has('g|source|1', clock.now() + 100)).toBe(false);
  });

  it('forgets expired keys on its own as keys are added', async () => {
    const clock = createManualClock();
    const db = new Database(':memory:');
    const inbox = sqliteInbox({ database: db, clock });
    for (let i = 0; i < 999; i += 1) await inbox.add(`old-${i}`, clock.now() + 1);
    await clock.advance(1);
    await inbox.add('new');
    expect(db.prepare('SELECT key FROM tidings_inbox').pluck().all()).toEqual(['new']);
    db.close();
  });

  it('never shortens an expiry when a key is added again', async () => {
    const clock = createManualClock();
    const inbox = sqliteInbox({ file: ':memory:', clock });
    await inbox.add('k', clock.now() + 10_000);
    await inbox.add('k', clock.now() + 10);
    await clock.advance(5000);
    expect(await inbox.has('k')).toBe(true);
    await inbox.close();
  });

  it("shares the transport's database, which stays open when the inbox closes", async () => {
    const { transport, clock } = harness();
    const inbox = sqliteInbox({ database: transport.database, clock });
    await inbox.add('k');
    await inbox.close();
    expect(transport.database.open).toBe(true);
    expect(transport.database.prepare('SELECT count(*) FROM tidings_inbox').pluck().get()).toBe(1);
    await expect(inbox.has('k')).rejects.toSatisfy((error) => isTidingsError(error, 'TIDINGS_CLOSED'));
    await transport.close();
  });

  it('keeps its keys across a restart when it has a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-inbox-'));
    try {
      const file = join(dir, 'inbox.db');
      const first = sqliteInbox({ file });
      await first.add('k');
      await first.close();
      const second = sqliteInbox({ file });
      expect(await second.has('k')).toBe(true);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists every problem with its options at once', () => {
    expect(() => sqliteInbox({ retentionMs: 0, ttl: 5 } as never)).toThrow(
      /sqliteInbox: 3 problems: \(1\) file or database is required.* \(2\) unknown option "ttl" \(3\) retentionMs must be/,
    );
  });
});
