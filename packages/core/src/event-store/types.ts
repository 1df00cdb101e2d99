import type { Event } from '../envelope.ts';
import type { CheckpointStore } from './checkpoints.ts';

/**
 * Where an event sits in the store's one global order. Opaque: compare two positions of the same store
 * with plain string comparison (`a < b`); each store picks a fixed-width encoding that sorts that way
 * (memory and SQLite: the sequence number zero-padded to 16 digits; PostgreSQL needs a composite one).
 */
export type GlobalPosition = string;

/**
 * What an append expects of its stream: its exact version (`0` = no event yet), `'no-stream'` (the
 * same as `0`), `'exists'` (at least one event was ever appended), or `'any'` (no check).
 */
export type ExpectedVersion = number | 'no-stream' | 'exists' | 'any';

/** Options of {@link EventStore.append}. */
export interface AppendOptions {
  /** The stream state the events were decided on (default `'any'`). */
  readonly expectedVersion?: ExpectedVersion | undefined;
}

/** What an append did: the stream's version after it, and the global position of its last event. */
export interface AppendResult {
  /** The version of the last appended event: pass it as `expectedVersion` to append after it. */
  readonly streamVersion: number;
  /** The global position of the last appended event; a reader that has reached it has seen them all. */
  readonly position: GlobalPosition;
}

/** An event as the store keeps it: the envelope, plus where and when it was recorded. */
export type RecordedEvent<E extends Event = Event> = E & {
  /** The stream it belongs to. */
  readonly stream: string;
  /** Its version in the stream: 1 for the first event, then one more for each. */
  readonly streamVersion: number;
  /** Its place in the store's global order. */
  readonly position: GlobalPosition;
  /**
   * When the store recorded it, RFC 3339 in UTC. Never earlier than the stream's previous event, so
   * "as of a time" is always a prefix of the stream (the envelope's `time` is the producer's claim).
   */
  readonly recordedAt: string;
};

/** Up to which point of a stream's history to read: a version, or a time (events recorded at or before it). */
export type StreamBound = { readonly version: number } | { readonly time: Date | string | number };

/** Options of {@link EventStore.readStream}. */
export interface ReadStreamOptions {
  /**
   * The first version to return: forward, the lowest (default: the oldest visible); backward, the
   * highest (default: the newest within `until`).
   */
  readonly from?: number | undefined;
  /** `forward` (oldest first, the default) or `backward` (newest first). */
  readonly direction?: 'forward' | 'backward' | undefined;
  /** At most this many events (default: all). */
  readonly limit?: number | undefined;
  /** Cuts the history at a version or a time, as if later events did not exist (temporal queries). */
  readonly until?: StreamBound | undefined;
}

/** What {@link EventStore.readStream} returns. */
export interface ReadStreamResult<E extends Event = Event> {
  readonly events: readonly RecordedEvent<E>[];
  /** The stream's current version (ignoring `until` and `limit`): what an append must expect. */
  readonly streamVersion: number;
  /** True when the stream has visible events: never written, soft-deleted or tombstoned means false. */
  readonly streamExists: boolean;
  /** The oldest version a read can return (1 unless the stream was truncated or soft-deleted). */
  readonly truncateBefore: number;
}

/** Options of {@link EventStore.readAll}. */
export interface ReadAllOptions {
  /** Return events after this position (default: from the start). */
  readonly after?: GlobalPosition | undefined;
  /** At most this many events (default 1 000). */
  readonly limit?: number | undefined;
  /** Only events of these types; the returned `position` still moves past the others. */
  readonly types?: readonly string[] | undefined;
}

/** What {@link EventStore.readAll} returns. */
export interface ReadAllResult<E extends Event = Event> {
  readonly events: readonly RecordedEvent<E>[];
  /**
   * Where the next read should continue (`after`): past every event this read looked at, including
   * those the type filter left out, so a sparse filter still moves forward. Store it as the checkpoint.
   */
  readonly position: GlobalPosition;
  /** True when no event after `position` existed when the read ran. */
  readonly caughtUp: boolean;
}

/** A stream's state and settings. */
export interface StreamMetadata {
  readonly stream: string;
  /** Its version: the number of events ever appended (deletion and truncation keep it). */
  readonly version: number;
  /** Events below this version are hidden from `readStream` (1 = nothing hidden). */
  readonly truncateBefore: number;
  /** True after a soft delete, until the next append reopens the stream. */
  readonly deleted: boolean;
  /** True after a hard delete: the stream can never be appended to again. */
  readonly tombstoned: boolean;
}

/** Options of {@link EventStore.listStreams}. */
export interface ListStreamsOptions {
  /** Only streams whose names sort after this one: the `next` of the previous page (default: from the first). */
  readonly after?: string | undefined;
  /** At most this many streams per page (default 100). */
  readonly limit?: number | undefined;
  /** Only streams whose names start with this text (default: every stream). */
  readonly prefix?: string | undefined;
}

/** A stream as {@link EventStore.listStreams} lists it: its metadata, and when it was last appended to. */
export interface ListedStream extends StreamMetadata {
  /** When its newest event was recorded, RFC 3339 in UTC; `undefined` when it never had an event (tombstoned unborn). */
  readonly lastRecordedAt: string | undefined;
}

/** What {@link EventStore.listStreams} returns. */
export interface ListStreamsResult {
  readonly streams: readonly ListedStream[];
  /** Pass it as `after` to read the next page; absent when this page is the last. */
  readonly next?: string | undefined;
}

/** Options of {@link EventStore.deleteStream}. */
export interface DeleteStreamOptions {
  /** The version the caller saw (default `'any'`); a mismatch throws `ConcurrencyError`. */
  readonly expectedVersion?: ExpectedVersion | undefined;
  /**
   * `false` (default): a soft delete that hides every event so far, and the next append reopens the
   * stream with the following version. `true`: a tombstone; every later append fails.
   */
  readonly tombstone?: boolean | undefined;
}

/** A saved aggregate state, as {@link EventStore.writeSnapshot} stores it. */
export interface StoredSnapshot {
  /** The stream version the state includes. */
  readonly version: number;
  /** The stream's `truncateBefore` when the state was folded: the first version it includes. */
  readonly baseVersion: number;
  /** When the last folded event was recorded, RFC 3339 (for reads as of a time). */
  readonly recordedAt: string;
  /** The state, encoded by the snapshot policy (JSON text by default). */
  readonly state: string;
}

/** What a store can do beyond the contract every store keeps. */
export interface EventStoreCapabilities {
  /** Events survive a restart of the process. */
  readonly durable: boolean;
  /** Several processes can append to and read the same store at once. */
  readonly multiProcess: boolean;
}

/**
 * The event store: streams of events, each with its own version, and one global order over them all.
 *
 * - **Concurrency.** `append` is atomic: all its events are stored, consecutively in the stream and in
 *   the global order, or none is. `expectedVersion` makes it a compare-and-set on the stream version;
 *   a mismatch throws `ConcurrencyError` with `stream`, `expected` and `actual`.
 * - **Idempotent retries.** Event ids are unique within a stream. Appending events whose ids are already
 *   stored, in the same order, at the place the expected version names (anywhere, for `'any'` and
 *   `'exists'`), writes nothing and returns the original result; any other overlap is a
 *   `ConcurrencyError`.
 * - **Global order.** Positions grow with commit order: a reader that has reached position P never
 *   later sees an event appear below P, whatever concurrent writers do.
 * - **Upcasting.** Events are stored with their schema version; a store given a catalog returns them
 *   upcast to the latest version, and a stored event it cannot read throws a `TidingsError` naming the
 *   stream, version and position (`TIDINGS_UNKNOWN_TYPE`, `TIDINGS_SCHEMA_INVALID`, `TIDINGS_MALFORMED`).
 * - **Metadata.** Truncation and soft deletion only hide events from `readStream`; `readAll` keeps
 *   showing them, so a reader's history never changes under it.
 */
export interface EventStore {
  readonly capabilities: EventStoreCapabilities;
  /**
   * Appends events to a stream, in one atomic step.
   *
   * @throws ConcurrencyError when the stream is not at `expectedVersion`.
   * @throws TidingsError `TIDINGS_INVALID_OPTIONS` (bad arguments), `TIDINGS_MALFORMED` (a bad event),
   * `TIDINGS_STREAM_DELETED` (the stream is tombstoned).
   */
  append(stream: string, events: readonly Event[], options?: AppendOptions): Promise<AppendResult>;
  /** Reads one stream, forward or backward, optionally cut at a version or time. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<ReadStreamResult>;
  /** Reads every stream in the global order, after a position. */
  readAll(options?: ReadAllOptions): Promise<ReadAllResult>;
  /** A stream's version and settings (version 0 when it was never written). */
  getStreamMetadata(stream: string): Promise<StreamMetadata>;
  /**
   * Lists the streams the store knows, a page at a time, ordered by name in Unicode code point order (the
   * byte order of UTF-8, the same on every store). A stream is known once it holds an event or a
   * tombstone: soft-deleted and tombstoned streams are listed with their flags, never-written ones not.
   *
   * @throws TidingsError `TIDINGS_INVALID_OPTIONS` for a bad `after`, `limit` or `prefix`.
   */
  listStreams(options?: ListStreamsOptions): Promise<ListStreamsResult>;
  /**
   * Hides the events below `before` from `readStream` (`before` at most the version + 1).
   *
   * @throws TidingsError `TIDINGS_INVALID_OPTIONS` when `before` is not a version of the stream.
   */
  truncateStream(stream: string, before: number): Promise<StreamMetadata>;
  /** Soft-deletes a stream, or tombstones it (see {@link DeleteStreamOptions}). */
  deleteStream(stream: string, options?: DeleteStreamOptions): Promise<StreamMetadata>;
  /** The snapshot saved for a stream under `key`, or `undefined`. */
  readSnapshot(stream: string, key: string): Promise<StoredSnapshot | undefined>;
  /** Saves a snapshot for a stream under `key`, replacing the previous one. */
  writeSnapshot(stream: string, key: string, snapshot: StoredSnapshot): Promise<void>;
  /**
   * Where subscriptions keep their place, in the store's own database (in memory for the memory store),
   * so that a durable store's readers resume after a restart. Saves only move a checkpoint forward; `reset`
   * moves it anywhere. {@link subscribeToAll} uses it unless given other `checkpoints`.
   */
  readonly checkpoints: CheckpointStore;
  /** Closes the store; later calls throw `TIDINGS_CLOSED`. */
  close(): Promise<void>;
}
