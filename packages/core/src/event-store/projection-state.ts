import type { TidingsError } from '../errors.ts';
import type { FailureRecord } from '../transport.ts';
import type { MaybePromise } from './projection.ts';
import { type ProjectionKv, andThen } from './projection-storage.ts';
import type { GlobalPosition, RecordedEvent } from './types.ts';

/** Where one version of a projection stands, as kept in the store's database. */
export interface ProjectionState {
  readonly name: string;
  readonly version: number;
  /**
   * `building`: catching up with the history (a new projection, a new version beside the live one, or a
   * rebuild); `live`: caught up, and the version reads are served from; `retired`: a newer version took over.
   */
  readonly status: 'building' | 'live' | 'retired';
  /** True when appends apply it in their own transaction once it is live. */
  readonly inline: boolean;
  /** The last position it has taken into account (`''`: none yet). */
  readonly position: GlobalPosition;
  /** Events applied since it started building. */
  readonly applied: number;
  /** Events sent to its dead letters since it started building. */
  readonly deadLettered: number;
  /** When this build began and when the state last changed, RFC 3339. */
  readonly startedAt: string;
  readonly updatedAt: string;
}

/** A stored event the store could not read (corrupt row, unknown type, data failing its schema). */
export interface UnreadableEvent {
  readonly unreadable: true;
  readonly stream: string;
  readonly streamVersion: number;
  readonly position: GlobalPosition;
  readonly type: string | undefined;
  readonly error: TidingsError;
}

/** What a read inside a projection transaction returns: events and unreadable ones, in the global order. */
export interface ProjectionRead {
  readonly items: readonly (RecordedEvent | UnreadableEvent)[];
  /** Where the next read continues (past filtered-out events too). */
  readonly position: GlobalPosition;
  readonly caughtUp: boolean;
}

/** A projection dead letter as kept in the key-value table. @internal */
export interface StoredProjectionDeadLetter extends FailureRecord {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly stream: string;
  readonly streamVersion: number;
  readonly position: GlobalPosition;
  readonly type: string;
  /** The event as it was read (CloudEvents JSON), when it could be read. */
  readonly event: Readonly<Record<string, unknown>> | undefined;
  /** When the store recorded the event, when it could be read. */
  readonly recordedAt: string | undefined;
  readonly deadLetteredAt: number;
}

/** Key-value spaces and keys of the projection bookkeeping. @internal */
export const spaces = {
  state: 'projection',
  stateKey: (name: string, version: number): string => `${name}@${String(version).padStart(6, '0')}`,
  paused: (name: string, version: number): string => `paused:${name}@${version}`,
  dead: (name: string, version: number): string => `dead:${name}@${version}`,
  deadId: (name: string, version: number, position: GlobalPosition): string =>
    `${name}@${version}:${position}`,
  lock: (name: string): string => `tidings-projection:${name}`,
} as const;

/** Loads one version's state. @internal */
export function loadState(
  kv: Pick<ProjectionKv, 'get'>,
  name: string,
  version: number,
): MaybePromise<ProjectionState | undefined> {
  return andThen(kv.get(spaces.state, spaces.stateKey(name, version)), (text) =>
    text === undefined ? undefined : (JSON.parse(text) as ProjectionState),
  );
}

/** Saves one version's state. @internal */
export function saveState(kv: ProjectionKv, state: ProjectionState): MaybePromise<void> {
  return kv.put(spaces.state, spaces.stateKey(state.name, state.version), JSON.stringify(state));
}

/** Every version of every projection, or of one name, in name then version order. @internal */
export function listStates(
  kv: Pick<ProjectionKv, 'list'>,
  name?: string,
): MaybePromise<readonly ProjectionState[]> {
  return andThen(kv.list(spaces.state, { after: name === undefined ? undefined : `${name}@` }), (rows) =>
    rows
      .map(([, text]) => JSON.parse(text) as ProjectionState)
      .filter((state) => name === undefined || state.name === name),
  );
}

/** A fresh state for a version that starts building now. @internal */
export function newState(name: string, version: number, inline: boolean, now: string): ProjectionState {
  return {
    name,
    version,
    status: 'building',
    inline,
    position: '',
    applied: 0,
    deadLettered: 0,
    startedAt: now,
    updatedAt: now,
  };
}
