import type Database from 'better-sqlite3';
import {
  eventColumnValues,
  checkAppend,
  checkExpectedVersion,
  checkStream,
  ConcurrencyError,
  type Event,
  type EventStoreCapabilities,
  type ExpectedVersion,
  formatSequencePosition,
  invalidOptions,
  isVersionConflict,
  parseSequencePosition,
  type AppendResult,
  type ReadStreamResult,
  type RecordedEvent,
  type StoredSnapshot,
  type StreamMetadata,
  resolveReadAll,
  resolveReadStream,
  retriedAppend,
  TidingsError,
  tombstonedError,
  readRecorded,
  applyInline,
  type Projection,
  type ProjectionRunner,
  type ProjectionStore,
  readLeniently,
  startInlineProjections,
} from '@tidings/core';
import { openDatabase } from './database.ts';
import { resolveEventStoreOptions, type SqliteEventStoreOptions } from './event-store-options.ts';
import { createRowReader, EVENT_COLUMNS, type EventRow } from './event-store-rows.ts';
import { migrateEventStore } from './event-store-schema.ts';
import { migrateProjections, sqliteProjectionStorage } from './projection-storage.ts';
import { createSqliteCheckpoints, createStreamLister } from './event-store-streams.ts';

/** What the SQLite store promises: it survives restarts, and every process that opens the file shares it. */
export const SQLITE_STORE_CAPABILITIES: EventStoreCapabilities = Object.freeze({
  durable: true,
  multiProcess: true,
});

/** The SQLite event store: an {@link EventStore}, plus the database it works on and its projections. */
export interface SqliteEventStore extends ProjectionStore {
  /** The open database, to share with the transport, an inbox or the application's own tables. */
  readonly database: Database.Database;
  /** The inline projections given at creation. */
  readonly inlineProjections: readonly Projection[];
  /** Builds the inline projections and answers `waitFor`, `documents` and `rebuild` for them (`undefined` without any). */
  readonly projections: ProjectionRunner | undefined;
}

/** [version, truncate_before, tombstoned, last_recorded_at] */
type StreamRow = [number, number, number, number];

/** SQLite's own bounds, for "no limit" in a prepared statement. */
const NO_LIMIT = -1;
const MAX = Number.MAX_SAFE_INTEGER;

/**
 * The event store in one SQLite file, shared by every process that opens it (WAL: readers never wait
 * for the writer). An append is one immediate transaction: it checks the stream's version, inserts the
 * events and moves the version, or does nothing. SQLite admits one writer at a time, so positions are
 * handed out in commit order: a reader at position P never later sees an event appear below P.
 *
 * @example
 * const store = sqliteEventStore({ file: 'shop.db', catalog });
 * await store.append('order-42', [OrderPlaced.create({ orderId: '42', total: 10 })], { expectedVersion: 'no-stream' });
 * const { events, streamVersion } = await store.readStream('order-42');
 * await store.close();
 */
export function sqliteEventStore(options: SqliteEventStoreOptions): SqliteEventStore {
  const {
    catalog,
    clock,
    synchronous,
    busyTimeoutMs,
    projections: inline,
  } = resolveEventStoreOptions(options);
  const { db, owned } = openDatabase(options, { synchronous, busyTimeoutMs });
  try {
    migrateEventStore(db);
    migrateProjections(db);
  } catch (error) {
    if (owned) db.close();
    throw error;
  }
  const sql = prepareStatements(db);
  // The version and last recording time come from the stream's newest event; the settings from its row.
  const streamState = (stream: string): StreamRow | undefined => {
    const head = sql.head.get(stream);
    const settings = sql.settings.get(stream);
    if (head === undefined && settings === undefined) return undefined;
    return [head?.[0] ?? 0, settings?.[0] ?? 1, settings?.[1] ?? 0, head?.[1] ?? 0];
  };
  const toEvent = createRowReader();
  const read = (row: EventRow): RecordedEvent => {
    return readRecorded(catalog, toEvent(row));
  };
  let closed = false;
  const open = (what: string): void => {
    if (closed || !db.open) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `sqliteEventStore (${what}) is closed; open a new store to keep working.`,
      );
    }
  };

  // Ids already stored in the stream, for deciding whether an append is a retry.
  const locate = (stream: string, events: readonly Event[]) =>
    events.map((event) => {
      const at = sql.locate.get(stream, event.id);
      return at === undefined ? undefined : { streamVersion: at[0], position: formatSequencePosition(at[1]) };
    });

  // The one place an append touches the database; inline projections will run here, in its transaction.
  const appendInTransaction = db.transaction(
    (stream: string, events: readonly Event[], expected: ExpectedVersion): AppendResult => {
      const row = streamState(stream);
      const actual = row?.[0] ?? 0;
      if (row !== undefined && row[2] === 1) throw tombstonedError(stream, actual);
      if (isVersionConflict(expected, actual)) {
        const retry = retriedAppend(expected, locate(stream, events));
        if (retry === undefined || retry === 'conflict') throw new ConcurrencyError(stream, expected, actual);
        return retry;
      }
      // Never earlier than the stream's last event, so that "as of a time" is a prefix of the stream.
      const recordedAt = Math.max(clock.now(), row?.[3] ?? 0);
      let version = actual;
      let position = 0;
      let first = 0;
      for (const event of events) {
        version += 1;
        position = Number(
          sql.insert.run(stream, version, recordedAt, ...eventColumnValues(event)).lastInsertRowid,
        );
        if (first === 0) first = position;
      }
      if (inline.length > 0) {
        // Same transaction: the read models change with the append, or neither does.
        const written = projectionStorage.readRange(first - 1, position);
        const readable = written.filter((e): e is RecordedEvent => !('unreadable' in e));
        void applyInline(projectionStorage.current, 'sync', inline, readable, () => clock.now());
      }
      return { streamVersion: version, position: formatSequencePosition(position) };
    },
  );

  const readStreamInTransaction = db.transaction(
    (stream: string, low: number, options: ReturnType<typeof resolveReadStream>) => {
      const row = streamState(stream);
      const version = row?.[0] ?? 0;
      const truncateBefore = row?.[1] ?? 1;
      const tombstoned = row?.[2] === 1;
      const forward = options.direction === 'forward';
      const from = Math.max(truncateBefore, low);
      const to = Math.min(version, options.untilVersion, forward ? MAX : (options.from ?? MAX));
      const limit = options.limit === Number.POSITIVE_INFINITY ? NO_LIMIT : options.limit;
      const untilTime = options.untilTime === Number.POSITIVE_INFINITY ? MAX : options.untilTime;
      const rows =
        row === undefined || tombstoned || from > to || limit === 0
          ? []
          : (forward ? sql.forward : sql.backward).all(stream, from, to, untilTime, limit);
      return {
        rows,
        version,
        truncateBefore,
        exists: row !== undefined && !tombstoned && truncateBefore <= version,
      };
    },
  );

  /** One page of the global order, rows mapped by `map`; the caller runs it in a transaction (one snapshot). */
  const readPage = <T>(
    after: string | undefined,
    limit: number,
    types: readonly string[] | undefined,
    map: (row: EventRow) => T,
  ): { items: T[]; position: string; caughtUp: boolean } => {
    const from = parseSequencePosition('readAll', after);
    const rows =
      types === undefined ? sql.all.all(from, limit) : sql.allOfTypes.all(from, JSON.stringify(types), limit);
    const head = sql.lastPosition.get() ?? 0;
    // A short page scanned to the head; a full one stops at its last row, which may be short of it.
    const last = rows.length === limit ? (rows[rows.length - 1]?.[0] as number) : Math.max(head, from);
    return { items: rows.map(map), position: formatSequencePosition(last), caughtUp: last >= head };
  };
  const readAllInTransaction = db.transaction(
    (after: string | undefined, limit: number, types: readonly string[] | undefined) =>
      readPage(after, limit, types, read),
  );
  const lenient = (row: EventRow) =>
    readLeniently(read, row, (r) => ({
      stream: String(r[1]),
      streamVersion: Number(r[2]),
      position: formatSequencePosition(Number(r[0])),
      type: typeof r[4] === 'string' ? r[4] : undefined,
    }));
  const projectionStorage = sqliteProjectionStorage(db, {
    readPage: (after, types, limit) => readPage(after, limit, types, lenient),
    lenient,
  });

  const metadata = (stream: string, row: StreamRow | undefined): StreamMetadata => {
    const version = row?.[0] ?? 0;
    const truncateBefore = row?.[1] ?? 1;
    const tombstoned = row?.[2] === 1;
    return {
      stream,
      version,
      truncateBefore,
      deleted: version > 0 && truncateBefore > version && !tombstoned,
      tombstoned,
    };
  };

  const truncateInTransaction = db.transaction((stream: string, before: number): StreamMetadata => {
    const row = streamState(stream);
    const version = row?.[0] ?? 0;
    if (!Number.isSafeInteger(before) || before < 1 || before > version + 1) {
      throw invalidOptions(`truncateStream("${stream}")`, [
        `before must be a version from 1 to ${version + 1}, the stream's version + 1 (got ${String(before)})`,
      ]);
    }
    if (row !== undefined) sql.saveSettings.run(stream, before, row[2]);
    return metadata(stream, streamState(stream));
  });

  const deleteInTransaction = db.transaction(
    (stream: string, expected: ExpectedVersion, tombstone: boolean): StreamMetadata => {
      const row = streamState(stream);
      const version = row?.[0] ?? 0;
      if (isVersionConflict(expected, version)) throw new ConcurrencyError(stream, expected, version);
      // A soft delete hides everything so far; the next append lands above it, which reopens the stream.
      if (row !== undefined || tombstone) {
        sql.saveSettings.run(stream, version + 1, tombstone || row?.[2] === 1 ? 1 : 0);
      }
      return metadata(stream, streamState(stream));
    },
  );

  const call = <T>(what: string, work: () => T): Promise<T> =>
    new Promise<T>((resolve) => {
      open(what);
      resolve(work());
    }).catch((error: unknown) => {
      throw busyAsUnavailable(error, what, busyTimeoutMs);
    });
  const listStreams = createStreamLister(db, call);
  const checkpoints = createSqliteCheckpoints(db, clock, call);

  // Set once the store exists (the runner needs it); read through the getter below.
  const inlineRunner: { current?: ProjectionRunner | undefined } = {};
  const store: SqliteEventStore = {
    capabilities: SQLITE_STORE_CAPABILITIES,
    database: db,
    projectionStorage,
    inlineProjections: inline,
    get projections() {
      return inlineRunner.current;
    },

    append: (stream, events, appendOptions) =>
      call('append', () => {
        const expected = checkAppend(stream, events, appendOptions);
        try {
          const result = appendInTransaction.immediate(stream, events, expected);
          projectionStorage.notify();
          return result;
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
        }
        // Some ids are stored already (the transaction rolled back): a retry of an earlier append, or a clash.
        const retry = retriedAppend(expected, locate(stream, events));
        if (retry === undefined || retry === 'conflict') {
          throw new ConcurrencyError(stream, expected, streamState(stream)?.[0] ?? 0);
        }
        return retry;
      }),

    readStream: (stream, readOptions) =>
      call('readStream', (): ReadStreamResult => {
        const r = resolveReadStream(stream, readOptions);
        const low = r.direction === 'forward' ? (r.from ?? 1) : 1;
        const { rows, version, truncateBefore, exists } = readStreamInTransaction(stream, low, r);
        return { events: rows.map(read), streamVersion: version, streamExists: exists, truncateBefore };
      }),

    readAll: (readOptions) =>
      call('readAll', () => {
        const { limit, types } = resolveReadAll(readOptions);
        const page = readAllInTransaction(readOptions?.after, limit, types);
        return { events: page.items, position: page.position, caughtUp: page.caughtUp };
      }),

    getStreamMetadata: (stream) =>
      call('getStreamMetadata', () => {
        checkStream('getStreamMetadata', stream);
        return metadata(stream, streamState(stream));
      }),

    listStreams,
    checkpoints,

    truncateStream: (stream, before) =>
      call('truncateStream', () => {
        checkStream('truncateStream', stream);
        return truncateInTransaction.immediate(stream, before);
      }),

    deleteStream: (stream, deleteOptions = {}) =>
      call('deleteStream', () => {
        checkStream('deleteStream', stream);
        const expected = checkExpectedVersion('deleteStream', stream, deleteOptions.expectedVersion);
        return deleteInTransaction.immediate(stream, expected, deleteOptions.tombstone === true);
      }),

    readSnapshot: (stream, key) =>
      call('readSnapshot', (): StoredSnapshot | undefined => {
        const row = sql.readSnapshot.get(stream, key);
        return row === undefined
          ? undefined
          : { version: row[0], baseVersion: row[1], recordedAt: row[2], state: row[3] };
      }),

    writeSnapshot: (stream, key, snapshot) =>
      call('writeSnapshot', () => {
        sql.writeSnapshot.run(
          stream,
          key,
          snapshot.version,
          snapshot.baseVersion,
          snapshot.recordedAt,
          snapshot.state,
        );
      }),

    close: async () => {
      await inlineRunner.current?.close();
      if (!closed) {
        closed = true;
        if (owned && db.open) db.close();
      }
    },
  };
  Object.freeze(store);
  inlineRunner.current = startInlineProjections(store, inline, clock);
  return store;
}

/** Every statement the store runs, prepared once. */
function prepareStatements(db: Database.Database) {
  const events = (where: string, order: string) =>
    db
      .prepare<unknown[], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM tidings_events WHERE ${where} ORDER BY ${order} LIMIT ?`,
      )
      .raw(true);
  const streamRange = 'stream = ? AND version BETWEEN ? AND ? AND recorded_at <= ?';
  return {
    head: db
      .prepare<[string], [number, number]>(
        'SELECT version, recorded_at FROM tidings_events WHERE stream = ? ORDER BY version DESC LIMIT 1',
      )
      .raw(true),
    settings: db
      .prepare<[string], [number, number]>(
        'SELECT truncate_before, tombstoned FROM tidings_streams WHERE stream = ?',
      )
      .raw(true),
    saveSettings: db.prepare(
      `INSERT INTO tidings_streams (stream, truncate_before, tombstoned) VALUES (?, ?, ?)
       ON CONFLICT (stream) DO UPDATE SET truncate_before = excluded.truncate_before, tombstoned = excluded.tombstoned`,
    ),
    locate: db
      .prepare<[string, string], [number, number]>(
        'SELECT version, position FROM tidings_events WHERE stream = ? AND id = ?',
      )
      .raw(true),
    // A stored (stream, id) fails the insert with SQLITE_CONSTRAINT_UNIQUE: the append then looks for a retry.
    insert: db.prepare(
      `INSERT INTO tidings_events (stream, version, recorded_at, id, type, schema_version, source, time, subject,
         correlation_id, causation_id, extensions, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    forward: events(streamRange, 'version'),
    backward: events(streamRange, 'version DESC'),
    all: events('position > ?', 'position'),
    allOfTypes: events('position > ? AND type IN (SELECT value FROM json_each(?))', 'position'),
    lastPosition: db.prepare<[], number>('SELECT max(position) FROM tidings_events').pluck(),
    readSnapshot: db
      .prepare<[string, string], [number, number, string, string]>(
        'SELECT version, base_version, recorded_at, state FROM tidings_snapshots WHERE stream = ? AND key = ?',
      )
      .raw(true),
    writeSnapshot: db.prepare(
      `INSERT INTO tidings_snapshots (stream, key, version, base_version, recorded_at, state) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (stream, key) DO UPDATE SET version = excluded.version, base_version = excluded.base_version,
         recorded_at = excluded.recorded_at, state = excluded.state`,
    ),
  };
}

/**
 * Another process held the write lock past the busy timeout: the store is there but unavailable for
 * now, and the same call may succeed when retried.
 */
function busyAsUnavailable(error: unknown, what: string, busyTimeoutMs: number | undefined): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !(code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
    return error;
  }
  return new TidingsError(
    'TIDINGS_UNAVAILABLE',
    `${what}: another connection held the database's write lock for longer than busyTimeoutMs ` +
      `(${busyTimeoutMs ?? 'the default 5000'} ms); nothing was written. Retry, or raise busyTimeoutMs if writers queue this long.`,
    { cause: error, details: { code } },
  );
}
