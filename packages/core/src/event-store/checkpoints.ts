import { describe } from '../envelope.ts';
import { invalidOptions } from '../errors.ts';
import type { GlobalPosition } from './types.ts';

/**
 * Where named readers of the global order keep their place. A subscription loads its checkpoint once
 * when it starts and saves it after each batch it handled, so after a crash it resumes there: the
 * events handled since the last save are delivered again, none is skipped.
 *
 * Saves only move a checkpoint forward (positions compare as plain strings): a save that arrives late
 * or twice, or one from a second instance of the same reader that lags behind, never drags the reader
 * back over work already done. Moving it back on purpose (a replay, a rebuild, a store restored into a
 * new database) is what `reset` is for.
 */
export interface CheckpointStore {
  /** The position saved under `name`, or `undefined` when the reader never saved one (start from the beginning). */
  load(name: string): Promise<GlobalPosition | undefined>;
  /** Saves `position` under `name` if it lies after the saved one; an earlier or equal position changes nothing. */
  save(name: string, position: GlobalPosition): Promise<void>;
  /**
   * Sets the checkpoint of `name` to `position` even when that moves it back, or removes it (`undefined`)
   * so that the reader starts from the beginning. Stop the reader first: a running subscription keeps its
   * place in memory and saves over the reset with its next batch.
   */
  reset(name: string, position?: GlobalPosition): Promise<void>;
}

type CheckpointCall = 'load' | 'save' | 'reset';

/**
 * Checks the arguments of a {@link CheckpointStore} call, for stores that implement one: `name` must be
 * a non-empty string, and `position` (required by `save`, optional for `reset`) one that `isPosition`
 * accepts, i.e. one this store's `append` or `readAll` returned.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` naming the call and every problem.
 */
export function checkCheckpoint(
  call: CheckpointCall,
  name: unknown,
  position: unknown,
  isPosition: (position: string) => boolean,
): void {
  const problems: string[] = [];
  if (typeof name !== 'string' || name.length === 0) {
    problems.push(`name must be a non-empty string, the reader's name (got ${describe(name)})`);
  }
  const positionNeeded = call === 'save' || (call === 'reset' && position !== undefined);
  if (positionNeeded && !(typeof position === 'string' && position.length > 0 && isPosition(position))) {
    problems.push(
      `position must be a position this store's append or readAll returned (got ${describe(position)})`,
    );
  }
  if (problems.length > 0) {
    throw invalidOptions(`checkpoints.${call}(${typeof name === 'string' ? `"${name}"` : '?'})`, problems);
  }
}

/** Runs synchronous work as a promise, so that a bad argument or a closed store is a rejection, as with a database. */
const settle = <T>(work: () => T): Promise<T> => new Promise((resolve) => resolve(work()));

/**
 * Checkpoints in a map of this process, checked with `isPosition` and refused while `usable` throws:
 * what {@link memoryCheckpoints} and the memory event store share. @internal
 */
export function checkpointsInMap(
  saved: Map<string, GlobalPosition>,
  isPosition: (position: string) => boolean,
  usable: (call: CheckpointCall) => void = () => undefined,
): CheckpointStore {
  return {
    load: (name) =>
      settle(() => {
        usable('load');
        checkCheckpoint('load', name, undefined, isPosition);
        return saved.get(name);
      }),
    save: (name, position) =>
      settle(() => {
        usable('save');
        checkCheckpoint('save', name, position, isPosition);
        const current = saved.get(name);
        if (current === undefined || position > current) saved.set(name, position);
      }),
    reset: (name, position) =>
      settle(() => {
        usable('reset');
        checkCheckpoint('reset', name, position, isPosition);
        if (position === undefined) saved.delete(name);
        else saved.set(name, position);
      }),
  };
}

/**
 * Keeps checkpoints in this process's memory, for tests and single-process tools; they are gone when the
 * process ends. A durable store has durable ones already: `store.checkpoints`, in its own database.
 *
 * @example
 * const checkpoints = memoryCheckpoints();
 * const subscription = subscribeToAll(store, { name: 'emails', checkpoints, handler: sendEmail });
 */
export function memoryCheckpoints(initial: Readonly<Record<string, GlobalPosition>> = {}): CheckpointStore {
  if (typeof initial !== 'object' || initial === null) {
    throw invalidOptions('memoryCheckpoints', ['initial must be an object of names to positions']);
  }
  // Not tied to one store, so any non-empty text passes for a position.
  return checkpointsInMap(new Map(Object.entries(initial)), () => true);
}
