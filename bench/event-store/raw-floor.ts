import Database from 'better-sqlite3';
import pg from 'pg';
import { perSecond, scratchFile, timed } from './common.ts';

/** One-row transactions per second that a driver alone reaches on this machine: the ceiling of case 2. */
export interface RawFloor {
  readonly driver: string;
  readonly transactionsPerSecond: number;
}

/**
 * better-sqlite3 on its own: `count` transactions of one INSERT each, on a file in WAL mode at
 * `synchronous` (NORMAL is the Tidings store's default; FULL is SQLite's own, which Emmett's sqlite3
 * connection keeps).
 */
export async function rawSqliteFloor(count: number, synchronous: 'NORMAL' | 'FULL'): Promise<RawFloor> {
  const { file, cleanUp } = scratchFile(`raw-${synchronous.toLowerCase()}`);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, data TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO rows (data) VALUES (?)');
    const insertOne = db.transaction((data: string) => insert.run(data));
    const ms = await timed(() => {
      for (let i = 0; i < count; i += 1) insertOne(`row ${i}`);
      return Promise.resolve();
    });
    return {
      driver: `better-sqlite3, WAL, synchronous=${synchronous}`,
      transactionsPerSecond: perSecond(count, ms),
    };
  } finally {
    db.close();
    await cleanUp();
  }
}

/** pg on its own: `count` single-INSERT statements on one connection, each its own transaction. */
export async function rawPostgresFloor(url: string, count: number): Promise<RawFloor> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE bench_raw_rows (id bigserial PRIMARY KEY, data text NOT NULL)');
    const ms = await timed(async () => {
      for (let i = 0; i < count; i += 1) {
        await client.query({
          name: 'raw_row',
          text: 'INSERT INTO bench_raw_rows (data) VALUES ($1)',
          values: [`row ${i}`],
        });
      }
    });
    return {
      driver: 'pg, one INSERT per transaction (autocommit)',
      transactionsPerSecond: perSecond(count, ms),
    };
  } finally {
    await client.end();
  }
}
