import type { Catalog } from '../catalog.ts';
import { type Clock, systemClock } from '../clock.ts';
import { deepFreeze, type Event } from '../envelope.ts';
import { ConcurrencyError, invalidOptions } from '../errors.ts';
import { checkpointsInMap } from './checkpoints.ts';
import {
  checkAppend,
  checkExpectedVersion,
  checkStream,
  closedStoreError,
  formatSequencePosition,
  isVersionConflict,
  parseSequencePosition,
  resolveReadAll,
  resolveReadStream,
  retriedAppend,
  tombstonedError,
  upcastRecorded,
} from './checks.ts';
import { compareStreamNames, inListedRange, resolveListStreams } from './list-streams.ts';
import { memoryProjectionStorage } from './memory-projections.ts';
import type { Projection } from './projection.ts';
import { applyInline } from './projection-batch.ts';
import { inlineProjectionsOf, readLeniently, startInlineProjections } from './projection-host.ts';
import type { ProjectionRunner, ProjectionStore } from './projection-runner.ts';
import type {
  AppendOptions,
  AppendResult,
  DeleteStreamOptions,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  EventStoreCapabilities,
  ListedStream,
  ListStreamsOptions,
  ListStreamsResult,
  ReadStreamResult,
  RecordedEvent,
  StoredSnapshot,
  StreamMetadata,
} from './types.ts';

/** Options of {@link memoryEventStore}. */
export interface MemoryEventStoreOptions {
  /** Upcasts every event read to its latest version, and rejects events it cannot read. */
  readonly catalog?: Catalog | undefined;
  /** Where `recordedAt` comes from (default the system clock); tests pass a manual clock. */
  readonly clock?: Clock | undefined;
  /** Projections applied inside every append (after they have caught up with the history). */
  readonly projections?: readonly Projection[] | undefined;
}

/** The memory store: an {@link EventStore} that also keeps projections. */
export interface MemoryEventStore extends ProjectionStore {
  /** The inline projections given at creation. */
  readonly inlineProjections: readonly Projection[];
  /** Builds the inline projections and answers `waitFor`, `documents` and `rebuild` for them (`undefined` without any). */
  readonly projections: ProjectionRunner | undefined;
}

/** What the memory store declares: it lives and dies with its process. */
export const MEMORY_STORE_CAPABILITIES: EventStoreCapabilities = Object.freeze({
  durable: false,
  multiProcess: false,
});

interface StreamState {
  readonly events: RecordedEvent[];
  readonly ids: Map<string, RecordedEvent>;
  truncateBefore: number;
  tombstoned: boolean;
  lastRecordedMs: number;
}

/**
 * An event store in this process's memory, for tests and the flow harness. It keeps the whole contract
 * (the conformance suite proves it), stores data as JSON as a database would, and loses everything when
 * the process ends.
 *
 * @example
 * const store = memoryEventStore({ catalog });
 * const { streamVersion } = await store.append('cart-1', [ItemAdded.create({ sku: 'a' })], { expectedVersion: 'no-stream' });
 * const { events } = await store.readStream('cart-1');
 */
export function memoryEventStore(options: MemoryEventStoreOptions = {}): MemoryEventStore {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) problems.push('options must be an object');
  const { catalog, clock = systemClock } = options ?? {};
  if (catalog !== undefined && typeof catalog?.upgrade !== 'function') {
    problems.push('catalog must be made with createCatalog()');
  }
  if (typeof clock?.now !== 'function') problems.push('clock must have now()');
  if (problems.length > 0) throw invalidOptions('memoryEventStore', problems);
  const inline = inlineProjectionsOf('memoryEventStore', options.projections);

  const log: RecordedEvent[] = [];
  const streams = new Map<string, StreamState>();
  const snapshots = new Map<string, StoredSnapshot>();
  let closed = false;
  const checkpoints = checkpointsInMap(new Map(), isSequencePosition, (call) => open(`checkpoints.${call}`));

  const open = (what: string): void => {
    if (closed) throw closedStoreError(`memoryEventStore (${what})`);
  };
  const read = (event: RecordedEvent): RecordedEvent =>
    catalog === undefined ? event : upcastRecorded(catalog, event);
  const lenient = (event: RecordedEvent) => readLeniently(read, event, (e) => e);
  /** One page of the log after a position, of some types, each event mapped by `map`. */
  const readPage = <T>(
    after: string | undefined,
    limit: number,
    types: readonly string[] | undefined,
    map: (event: RecordedEvent) => T,
  ): { items: T[]; position: string; caughtUp: boolean } => {
    const wanted = types === undefined ? undefined : new Set(types);
    const items: T[] = [];
    let index = parseSequencePosition('readAll', after);
    for (; index < log.length && items.length < limit; index += 1) {
      const event = log[index] as RecordedEvent;
      if (wanted === undefined || wanted.has(event.type)) items.push(map(event));
    }
    return { items, position: formatSequencePosition(index), caughtUp: index >= log.length };
  };
  const projectionStorage = memoryProjectionStorage({
    readAll: (after, types, limit) => readPage(after, limit, types, lenient),
    countEvents(after, types) {
      const wanted = new Set(types);
      return log.slice(parseSequencePosition('countEvents', after)).filter((e) => wanted.has(e.type)).length;
    },
  });
  const metadataOf = (stream: string, state: StreamState | undefined): StreamMetadata => {
    const version = state?.events.length ?? 0;
    const truncateBefore = state?.truncateBefore ?? 1;
    return Object.freeze({
      stream,
      version,
      truncateBefore,
      deleted: version > 0 && truncateBefore > version && state?.tombstoned !== true,
      tombstoned: state?.tombstoned ?? false,
    });
  };
  const checkVersion = (
    stream: string,
    state: StreamState | undefined,
    expected: ReturnType<typeof checkAppend>,
  ): void => {
    const actual = state?.events.length ?? 0;
    if (isVersionConflict(expected, actual)) throw new ConcurrencyError(stream, expected, actual);
  };

  const sync = {
    append(stream: string, events: readonly Event[], appendOptions: AppendOptions | undefined): AppendResult {
      open('append');
      const expected = checkAppend(stream, events, appendOptions);
      const state = streams.get(stream);
      if (state?.tombstoned === true) throw tombstonedError(stream, state.events.length);
      if (state !== undefined) {
        const retry = retriedAppend(
          expected,
          events.map((event) => state.ids.get(event.id)),
        );
        if (retry === 'conflict') throw new ConcurrencyError(stream, expected, state.events.length);
        if (retry !== undefined) return retry;
      }
      checkVersion(stream, state, expected);
      const target = state ?? newStream();
      // Never earlier than the stream's last event, so that "as of a time" is a prefix of the stream.
      const recordedMs = Math.max(clock.now(), target.lastRecordedMs);
      const recordedAt = new Date(recordedMs).toISOString();
      const added: RecordedEvent[] = [];
      for (const event of events) {
        const recorded = deepFreeze({
          ...copyEvent(event),
          stream,
          streamVersion: target.events.length + added.length + 1,
          position: formatSequencePosition(log.length + added.length + 1),
          recordedAt,
        }) as RecordedEvent;
        added.push(recorded);
      }
      if (inline.length > 0) {
        // Inside the "transaction": a throw here leaves the store as it was.
        void projectionStorage.transactionSync((t) =>
          applyInline(
            t,
            'sync',
            inline,
            added.map(lenient).filter((e): e is RecordedEvent => !('unreadable' in e)),
            () => clock.now(),
          ),
        );
      }
      for (const recorded of added) {
        target.events.push(recorded);
        target.ids.set(recorded.id, recorded);
        log.push(recorded);
      }
      target.lastRecordedMs = recordedMs;
      streams.set(stream, target);
      projectionStorage.notify();
      const last = target.events[target.events.length - 1] as RecordedEvent;
      return { streamVersion: last.streamVersion, position: last.position };
    },

    readStream(stream: string, readOptions: ReadStreamOptions | undefined): ReadStreamResult {
      open('readStream');
      const r = resolveReadStream(stream, readOptions);
      const state = streams.get(stream);
      const version = state?.events.length ?? 0;
      const truncateBefore = state?.truncateBefore ?? 1;
      const result: RecordedEvent[] = [];
      if (state !== undefined && !state.tombstoned) {
        const low = Math.max(truncateBefore, r.direction === 'forward' ? (r.from ?? 1) : 1);
        let high = Math.min(
          version,
          r.untilVersion,
          r.direction === 'backward' ? (r.from ?? version) : version,
        );
        while (high >= low && recordedMs(state.events[high - 1]) > r.untilTime) high -= 1;
        if (r.direction === 'forward') {
          for (let v = low; v <= high && result.length < r.limit; v += 1)
            result.push(read(state.events[v - 1] as RecordedEvent));
        } else {
          for (let v = high; v >= low && result.length < r.limit; v -= 1)
            result.push(read(state.events[v - 1] as RecordedEvent));
        }
      }
      return {
        events: result,
        streamVersion: version,
        streamExists: state !== undefined && !state.tombstoned && truncateBefore <= version,
        truncateBefore,
      };
    },

    readAll(readOptions: ReadAllOptions | undefined): ReadAllResult {
      open('readAll');
      const { limit, types } = resolveReadAll(readOptions);
      const page = readPage(readOptions?.after, limit, types, read);
      return { events: page.items, position: page.position, caughtUp: page.caughtUp };
    },

    getStreamMetadata(stream: string): StreamMetadata {
      open('getStreamMetadata');
      checkStream('getStreamMetadata', stream);
      return metadataOf(stream, streams.get(stream));
    },

    listStreams(listOptions: ListStreamsOptions | undefined): ListStreamsResult {
      open('listStreams');
      const list = resolveListStreams(listOptions);
      const names = [...streams.keys()].filter((name) => inListedRange(name, list)).sort(compareStreamNames);
      const page = names.slice(0, list.limit).map((name): ListedStream => {
        const state = streams.get(name);
        const last = state?.events.length === 0 ? undefined : state?.lastRecordedMs;
        return Object.freeze({
          ...metadataOf(name, state),
          lastRecordedAt: last === undefined ? undefined : new Date(last).toISOString(),
        });
      });
      return names.length > list.limit
        ? { streams: page, next: page[page.length - 1]?.stream }
        : { streams: page };
    },

    truncateStream(stream: string, before: number): StreamMetadata {
      open('truncateStream');
      checkStream('truncateStream', stream);
      const state = streams.get(stream);
      const version = state?.events.length ?? 0;
      if (!Number.isSafeInteger(before) || before < 1 || before > version + 1) {
        throw invalidOptions(`truncateStream("${stream}")`, [
          `before must be a version from 1 to ${version + 1}, the stream's version + 1 (got ${String(before)})`,
        ]);
      }
      if (state !== undefined) state.truncateBefore = before;
      return metadataOf(stream, state);
    },

    deleteStream(stream: string, deleteOptions: DeleteStreamOptions = {}): StreamMetadata {
      open('deleteStream');
      checkStream('deleteStream', stream);
      const expected = checkExpectedVersion('deleteStream', stream, deleteOptions.expectedVersion);
      const state = streams.get(stream);
      checkVersion(stream, state, expected);
      const target = state ?? newStream();
      // A soft delete hides everything so far; the next append lands above it, which reopens the stream.
      target.truncateBefore = target.events.length + 1;
      if (deleteOptions.tombstone === true) target.tombstoned = true;
      if (state !== undefined || target.tombstoned) streams.set(stream, target);
      return metadataOf(stream, streams.get(stream));
    },

    readSnapshot(stream: string, key: string): StoredSnapshot | undefined {
      open('readSnapshot');
      return snapshots.get(snapshotKey(stream, key));
    },

    writeSnapshot(stream: string, key: string, snapshot: StoredSnapshot): void {
      open('writeSnapshot');
      snapshots.set(snapshotKey(stream, key), Object.freeze({ ...snapshot }));
    },

    close(): void {
      closed = true;
    },
  };
  // Set once the store exists (the runner needs it); read through the getter below.
  const inlineRunner: { current?: ProjectionRunner | undefined } = {};
  const store: MemoryEventStore = Object.freeze({
    capabilities: MEMORY_STORE_CAPABILITIES,
    append: (stream, events, o) => settle(() => sync.append(stream, events, o)),
    readStream: (stream, o) => settle(() => sync.readStream(stream, o)),
    readAll: (o) => settle(() => sync.readAll(o)),
    getStreamMetadata: (stream) => settle(() => sync.getStreamMetadata(stream)),
    listStreams: (o) => settle(() => sync.listStreams(o)),
    truncateStream: (stream, before) => settle(() => sync.truncateStream(stream, before)),
    deleteStream: (stream, o) => settle(() => sync.deleteStream(stream, o)),
    readSnapshot: (stream, key) => settle(() => sync.readSnapshot(stream, key)),
    writeSnapshot: (stream, key, snapshot) => settle(() => sync.writeSnapshot(stream, key, snapshot)),
    checkpoints,
    projectionStorage,
    inlineProjections: inline,
    get projections() {
      return inlineRunner.current;
    },
    close: async () => {
      await inlineRunner.current?.close();
      return settle(() => sync.close());
    },
  } satisfies MemoryEventStore);
  inlineRunner.current = startInlineProjections(store, inline, clock);
  return store;
}

/** Runs synchronous work as a store call: its result, or its error as a rejection. */
function settle<T>(work: () => T): Promise<T> {
  // The executor runs at once; a throw inside it becomes the rejection.
  return new Promise((resolve) => resolve(work()));
}

const newStream = (): StreamState => ({
  events: [],
  ids: new Map(),
  truncateBefore: 1,
  tombstoned: false,
  lastRecordedMs: Number.NEGATIVE_INFINITY,
});

const isSequencePosition = (position: string): boolean => /^\d{16}$/.test(position);

const snapshotKey = (stream: string, key: string): string => `${stream}\u0000${key}`;

const recordedMs = (event: RecordedEvent | undefined): number =>
  event === undefined ? Number.NEGATIVE_INFINITY : Date.parse(event.recordedAt);

/** A copy of the envelope whose data went through JSON, as a database would store it. */
function copyEvent(event: Event): Event {
  const copy: Record<string, unknown> = {
    id: event.id,
    type: event.type,
    version: event.version,
    source: event.source,
    time: event.time,
    correlationId: event.correlationId,
    data: event.data === undefined ? null : JSON.parse(JSON.stringify(event.data)),
  };
  if (event.subject !== undefined) copy.subject = event.subject;
  if (event.causationId !== undefined) copy.causationId = event.causationId;
  if (event.extensions !== undefined) copy.extensions = { ...event.extensions };
  return copy as unknown as Event;
}
