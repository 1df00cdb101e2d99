import { invalidOptions } from '../errors.ts';
import type { GlobalPosition } from './types.ts';

/**
 * Where named readers of the global order keep their place. A subscription loads its checkpoint once
 * when it starts and saves it after each batch it handled, so after a crash it resumes there: the
 * events handled since the last save are delivered again, none is skipped.
 */
export interface CheckpointStore {
  /** The position saved under `name`, or `undefined` when the reader never saved one (start from the beginning). */
  load(name: string): Promise<GlobalPosition | undefined>;
  /** Saves `position` under `name`, replacing the previous one. */
  save(name: string, position: GlobalPosition): Promise<void>;
}

/**
 * Keeps checkpoints in this process's memory, for tests and single-process tools; they are gone when the
 * process ends, so a durable service keeps them in its database instead.
 *
 * @example
 * const checkpoints = memoryCheckpoints();
 * const subscription = subscribeToAll(store, { name: 'emails', checkpoints, handler: sendEmail });
 */
export function memoryCheckpoints(initial: Readonly<Record<string, GlobalPosition>> = {}): CheckpointStore {
  if (typeof initial !== 'object' || initial === null) {
    throw invalidOptions('memoryCheckpoints', ['initial must be an object of names to positions']);
  }
  const saved = new Map<string, GlobalPosition>(Object.entries(initial));
  return {
    load: (name) => Promise.resolve(saved.get(name)),
    save(name, position) {
      saved.set(name, position);
      return Promise.resolve();
    },
  };
}
