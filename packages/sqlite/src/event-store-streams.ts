import type Database from 'better-sqlite3';
import {
  type CheckpointStore,
  type Clock,
  checkCheckpoint,
  compareStreamNames,
  type ListedStream,
  type ListStreamsOptions,
  type ListStreamsResult,
  resolveListStreams,
} from '@tidings/core';

/** Runs one store call: refuses it when the store is closed, and maps a busy database to `TIDINGS_UNAVAILABLE`. */
type StoreCall = <T>(what: string, work: () => T) => Promise<T>;

/**
 * `listStreams` of the SQLite store. A stream's version lives in its newest event and only streams with
 * settings have a `tidings_streams` row, so the names come from both: a page walks the two name indexes
 * one seek per stream (never scanning a stream's events), in one read transaction.
 *
 * @internal
 */
export function createStreamLister(
  db: Database.Database,
  call: StoreCall,
): (options: ListStreamsOptions | undefined) => Promise<ListStreamsResult> {
  // The first name above a bound (`>`), or at or above it (`>=`), one index seek each. BINARY collation
  // compares UTF-8 bytes, which is code point order, as the contract wants. One bound per statement:
  // given two lower bounds on one column, SQLite seeks to one and filters on the other, a scan.
  const seek = (table: 'tidings_events' | 'tidings_streams', op: '>' | '>=') =>
    db
      .prepare<[string], string>(
        `SELECT stream FROM ${table} WHERE stream ${op} ?${table === 'tidings_streams' ? ' AND tombstoned = 1' : ''}
         ORDER BY stream LIMIT 1`,
      )
      .pluck();
  const after = { events: seek('tidings_events', '>'), tombstoned: seek('tidings_streams', '>') };
  const from = { events: seek('tidings_events', '>='), tombstoned: seek('tidings_streams', '>=') };
  const next = (statements: typeof after, bound: string): string | undefined => {
    const a = statements.events.get(bound);
    const b = statements.tombstoned.get(bound);
    return a === undefined ? b : b === undefined || compareStreamNames(a, b) <= 0 ? a : b;
  };
  const head = db
    .prepare<[string], [number, number]>(
      'SELECT version, recorded_at FROM tidings_events WHERE stream = ? ORDER BY version DESC LIMIT 1',
    )
    .raw(true);
  const settings = db
    .prepare<[string], [number, number]>(
      'SELECT truncate_before, tombstoned FROM tidings_streams WHERE stream = ?',
    )
    .raw(true);

  const describeStream = (stream: string): ListedStream => {
    const [version, recordedAt] = head.get(stream) ?? [0, undefined];
    const [truncateBefore, tombstoned] = settings.get(stream) ?? [1, 0];
    return {
      stream,
      version,
      truncateBefore,
      deleted: version > 0 && truncateBefore > version && tombstoned !== 1,
      tombstoned: tombstoned === 1,
      lastRecordedAt: recordedAt === undefined ? undefined : new Date(recordedAt).toISOString(),
    };
  };

  const page = db.transaction((list: ReturnType<typeof resolveListStreams>): ListStreamsResult => {
    const streams: ListedStream[] = [];
    // Start at the prefix when it sorts after the previous page, else just after that page.
    let name =
      compareStreamNames(list.prefix, list.after) > 0 ? next(from, list.prefix) : next(after, list.after);
    // One more than the page, to know whether another follows.
    while (name !== undefined && streams.length <= list.limit) {
      if (list.upper !== undefined && compareStreamNames(name, list.upper) >= 0) break;
      streams.push(describeStream(name));
      name = next(after, name);
    }
    if (streams.length <= list.limit) return { streams };
    streams.pop();
    return { streams, next: streams[streams.length - 1]?.stream };
  });

  return (options) => call('listStreams', () => page(resolveListStreams(options)));
}

const POSITION = /^\d{16}$/;
const isPosition = (position: string): boolean => POSITION.test(position);

/**
 * `store.checkpoints` of the SQLite store: one row per reader in `tidings_checkpoints`, in the store's
 * file, so a subscription resumes where it stood after the process restarts. A save only moves a row
 * forward (the position text sorts in log order); `reset` sets or removes it.
 *
 * @internal
 */
export function createSqliteCheckpoints(
  db: Database.Database,
  clock: Clock,
  call: StoreCall,
): CheckpointStore {
  const load = db
    .prepare<[string], string>('SELECT position FROM tidings_checkpoints WHERE name = ?')
    .pluck();
  const save = db.prepare<[string, string, number]>(
    `INSERT INTO tidings_checkpoints (name, position, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
     WHERE excluded.position > tidings_checkpoints.position`,
  );
  const set = db.prepare<[string, string, number]>(
    'INSERT OR REPLACE INTO tidings_checkpoints (name, position, updated_at) VALUES (?, ?, ?)',
  );
  const remove = db.prepare<[string]>('DELETE FROM tidings_checkpoints WHERE name = ?');
  return Object.freeze({
    load: (name) =>
      call('checkpoints.load', () => {
        checkCheckpoint('load', name, undefined, isPosition);
        return load.get(name);
      }),
    save: (name, position) =>
      call('checkpoints.save', () => {
        checkCheckpoint('save', name, position, isPosition);
        save.run(name, position, clock.now());
      }),
    reset: (name, position) =>
      call('checkpoints.reset', () => {
        checkCheckpoint('reset', name, position, isPosition);
        if (position === undefined) remove.run(name);
        else set.run(name, position, clock.now());
      }),
  } satisfies CheckpointStore);
}
