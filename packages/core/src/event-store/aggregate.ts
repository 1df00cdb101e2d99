import type { Event } from '../envelope.ts';
import { invalidOptions } from '../errors.ts';
import { checkStream, resolveReadStream } from './checks.ts';
import { checkSnapshotPolicy, type SnapshotPolicy, snapshotKey } from './snapshots.ts';
import type { EventStore, ReadStreamResult, RecordedEvent, StoredSnapshot, StreamBound } from './types.ts';

/** Options of {@link aggregateStream}. */
export interface AggregateStreamOptions<S, E extends Event = Event> {
  /** Folds one event into the state; pure, and it must not change the state it is given. */
  readonly evolve: (state: S, event: RecordedEvent<E>) => S;
  /** The state before the first event (a function, so no two folds share one object). */
  readonly initialState: () => S;
  /** The state as it was at this version or time, instead of now. */
  readonly asOf?: StreamBound | undefined;
  /** Load from and save snapshots with this policy. */
  readonly snapshots?: SnapshotPolicy<S> | undefined;
}

/** What {@link aggregateStream} returns. */
export interface AggregateStreamResult<S> {
  readonly state: S;
  /** The version of the last event folded into `state` (0 when none). */
  readonly version: number;
  /** The stream's current version, whatever `asOf` says: what an append must expect. */
  readonly streamVersion: number;
  readonly streamExists: boolean;
}

/**
 * Rebuilds a state from a stream's events, now or as of a version or time. With a snapshot policy it
 * starts from the latest usable snapshot and folds only the events after it, and saves a new one once
 * `every` events were folded past the last; the result is the same as a full replay (a snapshot from
 * other code, or one from before a truncation, is ignored).
 *
 * @example
 * const { state } = await aggregateStream(store, 'cart-1', {
 *   initialState: () => ({ items: [] as string[] }),
 *   evolve: (cart, event) => (event.type === 'ItemAdded' ? { items: [...cart.items, event.data.sku] } : cart),
 *   asOf: { time: '2026-03-01T12:00:00Z' },
 * });
 */
export async function aggregateStream<S, E extends Event = Event>(
  store: EventStore,
  stream: string,
  options: AggregateStreamOptions<S, E>,
): Promise<AggregateStreamResult<S>> {
  checkStream('aggregateStream', stream);
  checkOptions(options);
  const { evolve, asOf, snapshots: policy } = options;
  // Validates asOf with readStream's rules before any I/O.
  const bound = resolveReadStream(stream, asOf === undefined ? undefined : { until: asOf });
  const key = policy === undefined ? undefined : snapshotKey(evolve, policy);
  const snapshot = key === undefined ? undefined : await store.readSnapshot(stream, key);
  const usable =
    snapshot !== undefined &&
    snapshot.version <= bound.untilVersion &&
    Date.parse(snapshot.recordedAt) <= bound.untilTime
      ? snapshot
      : undefined;

  let start = usable === undefined ? undefined : restore(usable, policy as SnapshotPolicy<S>);
  let read = await store.readStream(stream, {
    from: start === undefined ? undefined : start.version + 1,
    until: asOf,
  });
  // A truncation or deletion since the snapshot changed what a full replay folds: replay instead.
  if (
    start !== undefined &&
    (start.baseVersion !== read.truncateBefore || start.version > read.streamVersion)
  ) {
    start = undefined;
    read = await store.readStream(stream, { until: asOf });
  }
  let state = start?.state ?? options.initialState();
  let version = start?.version ?? 0;
  for (const event of read.events as readonly RecordedEvent<E>[]) {
    state = evolve(state, event);
    version = event.streamVersion;
  }
  if (policy !== undefined && key !== undefined && asOf === undefined) {
    await saveIfDue(store, stream, key, policy, { state, version, read, from: start?.version ?? 0 });
  }
  return { state, version, streamVersion: read.streamVersion, streamExists: read.streamExists };
}

function checkOptions(options: {
  readonly evolve?: unknown;
  readonly initialState?: unknown;
  readonly snapshots?: unknown;
}): void {
  const problems: string[] = [];
  if (typeof options?.evolve !== 'function')
    problems.push('evolve must be a function (state, event) => state');
  if (typeof options?.initialState !== 'function') {
    problems.push('initialState must be a function returning the state before the first event');
  }
  if (problems.length > 0) throw invalidOptions('aggregateStream', problems);
  checkSnapshotPolicy('aggregateStream', options.snapshots);
}

interface Restored<S> {
  readonly state: S;
  readonly version: number;
  readonly baseVersion: number;
}

/** The snapshot's state, or `undefined` when it cannot be read: it is a cache, and a replay is always right. */
function restore<S>(snapshot: StoredSnapshot, policy: SnapshotPolicy<S>): Restored<S> | undefined {
  try {
    const state = (policy.decode ?? (JSON.parse as (text: string) => S))(snapshot.state);
    return { state, version: snapshot.version, baseVersion: snapshot.baseVersion };
  } catch {
    return undefined;
  }
}

async function saveIfDue<S>(
  store: EventStore,
  stream: string,
  key: string,
  policy: SnapshotPolicy<S>,
  fold: { state: S; version: number; read: ReadStreamResult; from: number },
): Promise<void> {
  const last = fold.read.events[fold.read.events.length - 1];
  if (last === undefined || fold.version - fold.from < policy.every) return;
  await store.writeSnapshot(stream, key, {
    version: fold.version,
    baseVersion: fold.read.truncateBefore,
    recordedAt: last.recordedAt,
    state: (policy.encode ?? JSON.stringify)(fold.state),
  });
}
