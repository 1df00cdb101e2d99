import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTidingsError } from '@tidings/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, SCHEMA_VERSION } from './schema.ts';
import { sqliteTransport } from './transport.ts';

const version = (db: Database.Database): unknown =>
  db.prepare("SELECT value FROM tidings_meta WHERE name = 'schema_version'").pluck().get();

describe('the sqlite schema', () => {
  it('migrates once and leaves the application its user_version', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 41');
    migrate(db);
    migrate(db);
    expect(version(db)).toBe(SCHEMA_VERSION);
    expect(db.pragma('user_version', { simple: true })).toBe(41);
    db.close();
  });

  it('refuses a database migrated by a newer release', () => {
    const db = new Database(':memory:');
    migrate(db);
    db.prepare("UPDATE tidings_meta SET value = ? WHERE name = 'schema_version'").run(SCHEMA_VERSION + 1);
    expect(() => migrate(db)).toThrow(expect.objectContaining({ code: 'TIDINGS_UNSUPPORTED' }));
    let caught: unknown;
    try {
      sqliteTransport({ database: db });
    } catch (error) {
      caught = error;
    }
    expect(isTidingsError(caught, 'TIDINGS_UNSUPPORTED')).toBe(true);
    expect(db.open).toBe(true);
    db.close();
  });

  it('opens a file in WAL mode with the synchronous level asked for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-schema-'));
    try {
      const transport = sqliteTransport({
        file: join(dir, 'app.db'),
        synchronous: 'FULL',
        busyTimeoutMs: 1234,
      });
      expect(transport.database.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(transport.database.pragma('synchronous', { simple: true })).toBe(2);
      expect(transport.database.pragma('busy_timeout', { simple: true })).toBe(1234);
      await transport.close();
      const reopened = sqliteTransport({ file: join(dir, 'app.db') });
      expect(reopened.database.pragma('synchronous', { simple: true })).toBe(1);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
