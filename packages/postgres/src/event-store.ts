import type { Pool, PoolClient } from 'pg';
import {
  type AppendResult,
  checkAppend,
  checkExpectedVersion,
  checkStream,
  ConcurrencyError,
  type Event,
  type EventStoreCapabilities,
  type ExpectedVersion,
  invalidOptions,
  isVersionConflict,
  type LocatedEvent,
  type ReadAllResult,
  type ReadStreamResult,
  type RecordedEvent,
  resolveReadAll,
  resolveReadStream,
  retriedAppend,
  type StoredSnapshot,
  type StreamMetadata,
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
import { openPool } from './pool.ts';
import { asUnavailable } from './errors.ts';
import { type PostgresEventStoreOptions, resolveEventStoreOptions } from './event-store-options.ts';
import {
  createRowReader,
  EVENT_COLUMNS,
  type EventRow,
  eventColumns,
  formatPosition,
  parsePosition,
} from './event-store-rows.ts';
import { migrateEventStore } from './event-store-schema.ts';
import { createPostgresCheckpoints, createStreamLister } from './event-store-streams.ts';
import { quote } from './schema.ts';
import { inlineLocks, postgresProjectionStorage } from './projection-storage.ts';

export type { PostgresEventStoreOptions } from './event-store-options.ts';

/** What the PostgreSQL store promises: it survives restarts, and any number of processes share it. */
export const POSTGRES_STORE_CAPABILITIES: EventStoreCapabilities = Object.freeze({
  durable: true,
  multiProcess: true,
});

/** The PostgreSQL event store: an {@link EventStore}, plus the pool it works on and its projections. */
export interface PostgresEventStore extends ProjectionStore {
  /** The pool, to share with the transport or the application's own queries. */
  readonly pool: Pool;
  /** The inline projections given at creation. */
  readonly inlineProjections: readonly Projection[];
  /** Builds the inline projections and answers `waitFor`, `documents` and `rebuild` for them (`undefined` without any). */
  readonly projections: ProjectionRunner | undefined;
}

/** Anything that runs a query: the pool, or a client inside a transaction. */
type Queryable = Pick<Pool, 'query'>;

/** A stream's row, as the statements below return it (bigints cast to float8, so pg gives numbers). */
interface StreamRow {
  readonly version: number;
  readonly truncate_before: number;
  readonly tombstoned: boolean;
  readonly last_recorded_at: number;
}

/** The unique violation a stored (stream, event id) or (stream, version) raises. */
const UNIQUE_VIOLATION = '23505';
/** What PostgreSQL raises in the transaction it aborts to break a deadlock, or a serialization conflict. */
const DEADLOCK = '40P01';
const SERIALIZATION_FAILURE = '40001';
const MAX = Number.MAX_SAFE_INTEGER;
/** How often an append decides again when the stream changed between its statements. */
const APPEND_ATTEMPTS = 3;
/** How often an append with inline projections is tried when PostgreSQL aborts it to break a deadlock. */
const INLINE_ATTEMPTS = 5;

/**
 * The whole append as one statement: one round trip, and its own transaction. The stream row is moved
 * on only when it satisfies the expected version ($2: the exact version, or null for any; $15: whether
 * it must already have events), and the events are inserted only when it was. No row back means a
 * tombstone or a conflict. `creating`: the stream may be new ('any', 'no-stream', 0), so the row is
 * inserted or, when present, locked and checked; otherwise it must exist and is only updated.
 */
function appendStatement(s: string, creating: boolean): string {
  const check = `NOT st.tombstoned AND ($2::bigint IS NULL OR st.version = $2::bigint)
    AND (NOT $15::boolean OR st.version > 0)`;
  const moveStream = creating
    ? `INSERT INTO ${s}.es_streams AS st (stream, version, last_recorded_at) VALUES ($1, $14::bigint, $3::bigint)
       ON CONFLICT (stream) DO UPDATE SET version = st.version + $14::bigint,
         last_recorded_at = greatest(st.last_recorded_at, $3::bigint)
       WHERE ${check}`
    : `UPDATE ${s}.es_streams AS st SET version = st.version + $14::bigint,
         last_recorded_at = greatest(st.last_recorded_at, $3::bigint)
       WHERE st.stream = $1 AND ${check}`;
  // The recording time is never earlier than the stream's last event, so "as of a time" is a prefix.
  return `
    WITH moved AS (
      ${moveStream}
      RETURNING st.version - $14::bigint AS base, st.last_recorded_at
    ), ins AS (
      INSERT INTO ${s}.es_events (stream, version, recorded_at, event_id, type, schema_version, source, time,
        subject, correlation_id, causation_id, extensions, data)
      SELECT $1, moved.base + e.n, moved.last_recorded_at, e.event_id, e.type, e.schema_version, e.source,
        e.time, e.subject, e.correlation_id, e.causation_id, e.extensions, e.data
      FROM moved, unnest($4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[],
        $11::text[], $12::text[], $13::text[])
        WITH ORDINALITY AS e(event_id, type, schema_version, source, time, subject, correlation_id,
          causation_id, extensions, data, n)
      ORDER BY e.n
      RETURNING transaction_id, id
    )
    SELECT (SELECT base FROM moved)::float8 AS base, transaction_id::text AS tx, max(id)::text AS seq
    FROM ins GROUP BY transaction_id`;
}

/** Every statement the store runs, for one schema. */
function statements(schema: string) {
  const s = quote(schema);
  const streamColumns =
    'version::float8 AS version, truncate_before::float8 AS truncate_before, tombstoned, ' +
    'last_recorded_at::float8 AS last_recorded_at';
  const streamRead = (order: 'ASC' | 'DESC') => `
    WITH st AS (SELECT version, truncate_before, tombstoned FROM ${s}.es_streams WHERE stream = $1)
    SELECT st.version::float8 AS s_version, st.truncate_before::float8 AS s_truncate, st.tombstoned AS s_tomb, ev.*
    FROM (SELECT 1) AS one
    LEFT JOIN st ON true
    LEFT JOIN LATERAL (
      SELECT e.version AS o_version, ${EVENT_COLUMNS} FROM ${s}.es_events e
      WHERE e.stream = $1 AND NOT st.tombstoned
        AND e.version BETWEEN greatest(st.truncate_before, $2::bigint) AND least(st.version, $3::bigint)
        AND e.recorded_at <= $4::bigint
      ORDER BY e.version ${order} LIMIT $5
    ) ev ON true
    ORDER BY ev.o_version ${order}`;
  // The hot statements are named, so each connection parses and plans them once.
  const named = (name: string, text: string) => ({ name: `tidings_es_${name}_${schema}`, text });
  return {
    // Creates the stream's row when missing and locks it (deletes): appends to the stream wait for it.
    lockStream: `INSERT INTO ${s}.es_streams (stream) VALUES ($1)
      ON CONFLICT (stream) DO UPDATE SET stream = excluded.stream RETURNING ${streamColumns}`,
    stream: `SELECT ${streamColumns} FROM ${s}.es_streams WHERE stream = $1`,
    streamNamed: named('stream', `SELECT ${streamColumns} FROM ${s}.es_streams WHERE stream = $1`),
    // The whole append in one statement, so one round trip and its own transaction.
    appendCreating: named('append_creating', appendStatement(s, true)),
    appendExisting: named('append_existing', appendStatement(s, false)),
    locate: named(
      'locate',
      `SELECT event_id, version::float8 AS version, transaction_id::text AS tx, id::text AS seq
      FROM ${s}.es_events WHERE stream = $1 AND event_id = ANY($2::text[])`,
    ),
    forward: named('forward', streamRead('ASC')),
    backward: named('backward', streamRead('DESC')),
    // One statement, so one snapshot: the page, the newest safe position and whether anything waits
    // behind the horizon. The horizon is the oldest transaction still running: every transaction below it
    // has committed or rolled back, and every later writer gets a higher id, so rows below it can never
    // be joined by a row that sorts before them.
    readAll: named(
      'read_all',
      `
      WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
      page AS MATERIALIZED (
        SELECT e.transaction_id AS o_tx, e.id AS o_id, ${EVENT_COLUMNS} FROM ${s}.es_events e
        WHERE (e.transaction_id, e.id) > ($1::xid8, $2::bigint) AND e.transaction_id < (SELECT xmin FROM h)
          AND ($4::text[] IS NULL OR e.type = ANY($4::text[]))
        ORDER BY e.transaction_id, e.id LIMIT $3
      ),
      head AS (
        SELECT e.transaction_id::text AS head_tx, e.id::text AS head_seq FROM ${s}.es_events e
        WHERE e.transaction_id < (SELECT xmin FROM h) ORDER BY e.transaction_id DESC, e.id DESC LIMIT 1
      ),
      -- Something waits behind the horizon when the newest row (one probe of the primary key) is at or
      -- above it: a scan for such rows would read the whole table on every page.
      summary AS (
        SELECT head.head_tx, head.head_seq,
          coalesce((SELECT e.transaction_id FROM ${s}.es_events e ORDER BY e.transaction_id DESC, e.id DESC LIMIT 1)
            >= (SELECT xmin FROM h), false) AS pending
        FROM (SELECT 1) AS one LEFT JOIN head ON true
      )
      SELECT summary.*, page.* FROM summary LEFT JOIN page ON true ORDER BY page.o_tx, page.o_id`,
    ),
    truncate: `UPDATE ${s}.es_streams SET truncate_before = $2 WHERE stream = $1`,
    delete: `UPDATE ${s}.es_streams SET truncate_before = version + 1, tombstoned = tombstoned OR $2
      WHERE stream = $1 RETURNING ${streamColumns}`,
    readSnapshot: `SELECT version::float8 AS version, base_version::float8 AS base_version, recorded_at, state
      FROM ${s}.es_snapshots WHERE stream = $1 AND key = $2`,
    writeSnapshot: `INSERT INTO ${s}.es_snapshots (stream, key, version, base_version, recorded_at, state)
      VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (stream, key) DO UPDATE SET version = excluded.version, base_version = excluded.base_version,
        recorded_at = excluded.recorded_at, state = excluded.state`,
  };
}

/** A stream's metadata from its row (a missing row is a stream never written). */
function metadataOf(stream: string, row: StreamRow | undefined): StreamMetadata {
  const version = row?.version ?? 0;
  const truncateBefore = row?.truncate_before ?? 1;
  const tombstoned = row?.tombstoned === true;
  return {
    stream,
    version,
    truncateBefore,
    deleted: version > 0 && truncateBefore > version && !tombstoned,
    tombstoned,
  };
}

/**
 * The event store in a few tables of one PostgreSQL schema, shared by every process that uses it.
 *
 * An append is one statement, and so one transaction and one round trip: it moves the stream's row on
 * only when its version is the expected one (the row lock queues writers of one stream; writers of
 * different streams never wait for each other) and inserts the batch. Each event row carries the id
 * of the transaction that wrote it; `readAll` orders by (transaction id, sequence) and returns only
 * rows below the oldest transaction still running, so an append that commits late holds readers back
 * instead of being skipped: a reader at position P never later sees an event appear below P. The price: any transaction
 * left open in the database, even an unrelated one, delays `readAll` (never `readStream`) until it ends.
 *
 * @example
 * const store = postgresEventStore({ connectionString: 'postgres://localhost/app', catalog });
 * await store.append('order-42', [OrderPlaced.create({ orderId: '42', total: 10 })], { expectedVersion: 'no-stream' });
 * const { events, streamVersion } = await store.readStream('order-42');
 * await store.close(); // ends the pool it opened
 */
export function postgresEventStore(options: PostgresEventStoreOptions): PostgresEventStore {
  const resolved = resolveEventStoreOptions(options);
  const { catalog, clock, projections: inline } = resolved;
  const { pool, owned } = openPool(options, resolved);
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  const onPoolError = (): void => undefined;
  if (owned) pool.on('error', onPoolError);
  const sql = statements(resolved.schema);
  // Migrated once; a failure (server down at start) is retried by the next call.
  let migrated: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    migrated ??= migrateEventStore(pool, resolved.schema).catch((error: unknown) => {
      migrated = undefined;
      throw error;
    });
    return migrated;
  };
  ready().catch(() => undefined);

  const toEvent = createRowReader();
  const read = (row: EventRow): RecordedEvent => {
    return readRecorded(catalog, toEvent(row));
  };
  const lenient = (row: EventRow) =>
    readLeniently(read, row, (r) => ({
      stream: r.stream,
      streamVersion: r.version,
      position: formatPosition(r.tx, r.seq),
      type: typeof r.type === 'string' ? r.type : undefined,
    }));
  let closed = false;

  /** Runs one call: refuses it when closed, migrates first, and maps a lost server to TIDINGS_UNAVAILABLE. */
  const call = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    if (closed) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: the postgres event store is closed; create a new store to keep working.`,
      );
    }
    try {
      await ready();
      return await work();
    } catch (error) {
      throw asUnavailable(error, what);
    }
  };

  /** Runs `work` in a transaction on one client; rolls back when it throws. */
  const transaction = async <T>(work: (client: PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    const ignore = (): void => undefined;
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.removeListener('error', ignore);
      client.release(broken);
    }
  };

  const locate = async (stream: string, events: readonly Event[]): Promise<(LocatedEvent | undefined)[]> => {
    const { rows } = await pool.query<{ event_id: string; version: number; tx: string; seq: string }>({
      ...sql.locate,
      values: [stream, events.map((event) => event.id)],
    });
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    return events.map((event) => {
      const at = byId.get(event.id);
      return at === undefined
        ? undefined
        : { streamVersion: at.version, position: formatPosition(at.tx, at.seq) };
    });
  };

  /** One try of an append in one statement; `undefined` when the stream is tombstoned or in conflict. */
  const appendOnce = async (
    stream: string,
    events: readonly Event[],
    expected: ExpectedVersion,
    on: Queryable = pool,
  ): Promise<AppendResult | undefined> => {
    const exact = expected === 'no-stream' ? 0 : typeof expected === 'number' ? expected : null;
    const creating = expected === 'any' || exact === 0;
    try {
      const { rows } = await on.query<{ base: number; tx: string; seq: string }>({
        ...(creating ? sql.appendCreating : sql.appendExisting),
        values: [stream, exact, clock.now(), ...eventColumns(events), events.length, expected === 'exists'],
      });
      const row = rows[0];
      if (row === undefined) return undefined;
      return { streamVersion: row.base + events.length, position: formatPosition(row.tx, row.seq) };
    } catch (error) {
      // A stored id: a retry, or a clash.
      if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) return undefined;
      throw error;
    }
  };

  /** One page of the global order, on the pool or inside a transaction, rows mapped by `map`. */
  const readPage = async <T>(
    on: Queryable,
    after: string | undefined,
    limit: number,
    types: readonly string[] | undefined,
    map: (row: EventRow) => T,
  ): Promise<{ items: T[]; position: string; caughtUp: boolean }> => {
    const [afterTx, afterSeq] = parsePosition('readAll', after);
    const { rows } = await on.query<
      EventRow & { head_tx: string | null; head_seq: string | null; pending: boolean }
    >({
      ...sql.readAll,
      values: [afterTx, afterSeq, limit, types ?? null],
    });
    const summary = rows[0] as { head_tx: string | null; head_seq: string | null; pending: boolean };
    const found = rows.filter((row) => row.tx !== null);
    const items = found.map(map);
    const start = formatPosition(afterTx, afterSeq);
    const head = summary.head_tx === null ? start : formatPosition(summary.head_tx, summary.head_seq ?? '0');
    // A full page stops at its last row; a short one looked at every safe row, up to the head.
    const lastRow = found[found.length - 1];
    const position =
      found.length === limit && lastRow !== undefined
        ? formatPosition(lastRow.tx, lastRow.seq)
        : head > start
          ? head
          : start;
    return { items, position, caughtUp: !summary.pending && position >= head };
  };

  const projectionStorage = postgresProjectionStorage({
    pool,
    schema: resolved.schema,
    ready,
    transaction,
    readPage: (client, after, types, limit) => readPage(client, after, limit, types, lenient),
  });

  /** An append and its inline projections in one transaction; `undefined` as appendOnce. */
  const appendWithProjections = async (
    client: PoolClient,
    stream: string,
    events: readonly Event[],
    expected: ExpectedVersion,
  ): Promise<AppendResult | undefined> => {
    const t = projectionStorage.on(client);
    // Before any write, so a projection going live waits for this append and never the reverse.
    await t.lock(inlineLocks(inline), 'shared');
    const result = await appendOnce(stream, events, expected, client);
    if (result === undefined) return undefined;
    const { rows } = await client.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${quote(resolved.schema)}.es_events e
       WHERE e.stream = $1 AND e.version > $2 ORDER BY e.version`,
      [stream, result.streamVersion - events.length],
    );
    const written = rows.map(lenient).filter((e): e is RecordedEvent => !('unreadable' in e));
    await applyInline(t, 'async', inline, written, () => clock.now());
    return result;
  };

  /**
   * The append with its inline projections, tried again when PostgreSQL broke a deadlock by aborting it
   * (two appends updating the same documents in opposite orders): nothing of it was written.
   */
  const appendInline = async (
    stream: string,
    events: readonly Event[],
    expected: ExpectedVersion,
  ): Promise<AppendResult | undefined> => {
    await projectionStorage.ready();
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await transaction((client) => appendWithProjections(client, stream, events, expected));
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if ((code !== DEADLOCK && code !== SERIALIZATION_FAILURE) || attempt >= INLINE_ATTEMPTS) throw error;
      }
    }
  };

  const listStreams = createStreamLister(pool, resolved.schema, call);
  const checkpoints = createPostgresCheckpoints(pool, resolved.schema, clock, call);

  const streamRow = async (stream: string): Promise<StreamRow | undefined> =>
    (await pool.query<StreamRow>({ ...sql.streamNamed, values: [stream] })).rows[0];

  // Set once the store exists (the runner needs it); read through the getter below.
  const inlineRunner: { current?: ProjectionRunner | undefined } = {};
  const store: PostgresEventStore = {
    capabilities: POSTGRES_STORE_CAPABILITIES,
    pool,
    projectionStorage,
    inlineProjections: inline,
    get projections() {
      return inlineRunner.current;
    },

    append: (stream, events, appendOptions) =>
      call(`append to "${stream}"`, async () => {
        const expected = checkAppend(stream, events, appendOptions);
        for (let attempt = 1; ; attempt += 1) {
          const appended =
            inline.length === 0
              ? await appendOnce(stream, events, expected)
              : await appendInline(stream, events, expected);
          if (appended !== undefined) {
            projectionStorage.notify();
            return appended;
          }
          // Nothing was written: a tombstone, a retry of an earlier append, or a real conflict.
          const row = await streamRow(stream);
          const actual = row?.version ?? 0;
          if (row?.tombstoned === true) throw tombstonedError(stream, actual);
          const retry = retriedAppend(expected, await locate(stream, events));
          if (retry !== undefined && retry !== 'conflict') return retry;
          // The stream moved between the two statements (created, or its events' ids just committed):
          // decide again, a bounded number of times.
          if (retry === 'conflict' || isVersionConflict(expected, actual) || attempt >= APPEND_ATTEMPTS) {
            throw new ConcurrencyError(stream, expected, actual);
          }
        }
      }),

    readStream: (stream, readOptions) =>
      call(`read stream "${stream}"`, async (): Promise<ReadStreamResult> => {
        const r = resolveReadStream(stream, readOptions);
        const forward = r.direction === 'forward';
        const low = forward ? (r.from ?? 1) : 1;
        const high = Math.min(r.untilVersion, forward ? MAX : (r.from ?? MAX));
        const untilTime = r.untilTime === Number.POSITIVE_INFINITY ? MAX : r.untilTime;
        const limit = r.limit === Number.POSITIVE_INFINITY ? null : r.limit;
        const { rows } = await pool.query<
          EventRow & { s_version: number | null; s_truncate: number | null; s_tomb: boolean | null }
        >({ ...(forward ? sql.forward : sql.backward), values: [stream, low, high, untilTime, limit] });
        const head = rows[0];
        const version = head?.s_version ?? 0;
        const truncateBefore = head?.s_truncate ?? 1;
        const tombstoned = head?.s_tomb === true;
        const events = rows.filter((row) => row.tx !== null).map(read);
        return {
          events,
          streamVersion: version,
          streamExists: head?.s_version !== null && !tombstoned && truncateBefore <= version,
          truncateBefore,
        };
      }),

    readAll: (readOptions) =>
      call('read all streams', async (): Promise<ReadAllResult> => {
        const { limit, types } = resolveReadAll(readOptions);
        const page = await readPage(pool, readOptions?.after, limit, types, read);
        return { events: page.items, position: page.position, caughtUp: page.caughtUp };
      }),

    getStreamMetadata: (stream) =>
      call(`read the metadata of "${stream}"`, async () => {
        checkStream('getStreamMetadata', stream);
        return metadataOf(stream, await streamRow(stream));
      }),

    listStreams,
    checkpoints,

    truncateStream: (stream, before) =>
      call(`truncate "${stream}"`, () => {
        checkStream('truncateStream', stream);
        return transaction(async (client) => {
          const row = (await client.query<StreamRow>(`${sql.stream} FOR UPDATE`, [stream])).rows[0];
          const version = row?.version ?? 0;
          if (!Number.isSafeInteger(before) || before < 1 || before > version + 1) {
            throw invalidOptions(`truncateStream("${stream}")`, [
              `before must be a version from 1 to ${version + 1}, the stream's version + 1 (got ${String(before)})`,
            ]);
          }
          if (row === undefined) return metadataOf(stream, undefined);
          await client.query(sql.truncate, [stream, before]);
          return metadataOf(stream, { ...row, truncate_before: before });
        });
      }),

    deleteStream: (stream, deleteOptions = {}) =>
      call(`delete "${stream}"`, () => {
        checkStream('deleteStream', stream);
        const expected = checkExpectedVersion('deleteStream', stream, deleteOptions.expectedVersion);
        const tombstone = deleteOptions.tombstone === true;
        return transaction(async (client) => {
          // A soft delete of a stream never written leaves it as it was (version 0, nothing hidden).
          const row = (await client.query<StreamRow>(sql.lockStream, [stream])).rows[0] as StreamRow;
          if (isVersionConflict(expected, row.version)) {
            throw new ConcurrencyError(stream, expected, row.version);
          }
          const updated = (await client.query<StreamRow>(sql.delete, [stream, tombstone])).rows[0];
          return metadataOf(stream, updated);
        });
      }),

    readSnapshot: (stream, key) =>
      call(`read a snapshot of "${stream}"`, async (): Promise<StoredSnapshot | undefined> => {
        const row = (
          await pool.query<{ version: number; base_version: number; recorded_at: string; state: string }>(
            sql.readSnapshot,
            [stream, key],
          )
        ).rows[0];
        return row === undefined
          ? undefined
          : {
              version: row.version,
              baseVersion: row.base_version,
              recordedAt: row.recorded_at,
              state: row.state,
            };
      }),

    writeSnapshot: (stream, key, snapshot) =>
      call(`write a snapshot of "${stream}"`, async () => {
        await pool.query(sql.writeSnapshot, [
          stream,
          key,
          snapshot.version,
          snapshot.baseVersion,
          snapshot.recordedAt,
          snapshot.state,
        ]);
      }),

    close: async () => {
      if (closed) return;
      await inlineRunner.current?.close();
      closed = true;
      if (owned) {
        await pool.end().catch(() => undefined);
        pool.removeListener('error', onPoolError);
      }
    },
  };
  Object.freeze(store);
  inlineRunner.current = startInlineProjections(store, inline, clock);
  return store;
}
