import Database from 'better-sqlite3';
import { migrate } from './schema.ts';
import type { SqliteDatabaseOptions } from './options.ts';

/** A database ready for Tidings: configured, migrated, and whether closing it is ours to do. @internal */
export interface OpenedDatabase {
  readonly db: Database.Database;
  readonly owned: boolean;
}

/**
 * Opens the file (WAL, so that several processes share it: readers never block the one writer) or
 * borrows the application's database, applies the pragmas asked for, and migrates the schema.
 *
 * @internal
 */
export function openDatabase(
  options: SqliteDatabaseOptions,
  pragmas: { synchronous?: 'NORMAL' | 'FULL' | undefined; busyTimeoutMs?: number | undefined },
): OpenedDatabase {
  const owned = options.database === undefined;
  const db = options.database ?? new Database(options.file, { timeout: pragmas.busyTimeoutMs ?? 5000 });
  try {
    if (pragmas.busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${pragmas.busyTimeoutMs}`);
    // The journal mode is the application's choice on its own database; on ours, WAL is the point.
    if (owned) db.pragma('journal_mode = WAL');
    if (pragmas.synchronous !== undefined) db.pragma(`synchronous = ${pragmas.synchronous}`);
    migrate(db);
  } catch (error) {
    if (owned) db.close();
    throw error;
  }
  return { db, owned };
}
