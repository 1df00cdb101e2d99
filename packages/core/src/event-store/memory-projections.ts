import type { MaybePromise } from './projection.ts';
import { callHook } from './projection-apply.ts';
import type { ProjectionRead } from './projection-state.ts';
import type { ProjectionKv, ProjectionStorage, ProjectionTransaction } from './projection-storage.ts';

type Undo = () => void;

/** What the memory store gives its projection storage. @internal */
export interface MemoryProjectionSource {
  readAll(after: string | undefined, types: readonly string[], limit: number): ProjectionRead;
  countEvents(after: string | undefined, types: readonly string[]): number;
}

/**
 * Projection storage in this process's memory, for the memory store: synchronous like SQLite's (so
 * projections tested here behave the same there), with rollback through an undo log.
 * @internal
 */
export function memoryProjectionStorage(source: MemoryProjectionSource): ProjectionStorage<undefined> & {
  /** Runs synchronous work in a transaction, for the store's own appends. */
  transactionSync<T>(work: (transaction: ProjectionTransaction<undefined>) => T): T;
  notify(): void;
} {
  const spaces = new Map<string, Map<string, string>>();
  const listeners = new Set<() => void>();
  let undo: Undo[] | undefined;

  const remember = (space: string, key: string): void => {
    if (undo === undefined) return;
    const had = spaces.get(space)?.get(key);
    undo.push(() => {
      const entries = spaces.get(space) ?? new Map<string, string>();
      spaces.set(space, entries);
      if (had === undefined) entries.delete(key);
      else entries.set(key, had);
    });
  };

  const kv: ProjectionKv = {
    get: (space, key) => spaces.get(space)?.get(key),
    put(space, key, value) {
      remember(space, key);
      const entries = spaces.get(space) ?? new Map<string, string>();
      spaces.set(space, entries);
      entries.set(key, value);
    },
    delete(space, key) {
      remember(space, key);
      spaces.get(space)?.delete(key);
    },
    list(space, options = {}) {
      const entries = [...(spaces.get(space) ?? new Map<string, string>()).entries()]
        .filter(([key]) => options.after === undefined || key > options.after)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return entries.slice(0, options.limit ?? entries.length);
    },
    clear(prefix) {
      for (const [space, entries] of spaces) {
        if (!space.startsWith(prefix)) continue;
        for (const key of [...entries.keys()]) void kv.delete(space, key);
      }
    },
  };

  const rollback = (log: Undo[], to: number): void => {
    while (log.length > to) (log.pop() as Undo)();
  };

  const transaction: ProjectionTransaction<undefined> = {
    tx: undefined,
    kv,
    isolate<T>(work: () => MaybePromise<T>): MaybePromise<T> {
      const log = undo as Undo[];
      const mark = log.length;
      try {
        return callHook('sync', 'memory', work);
      } catch (error) {
        rollback(log, mark);
        throw error;
      }
    },
    lock: () => undefined,
    readAll: (after, types, limit) => source.readAll(after, types, limit),
  };

  const transactionSync = <T>(work: (t: ProjectionTransaction<undefined>) => MaybePromise<T>): T => {
    if (undo !== undefined) return callHook('sync', 'memory', () => work(transaction)) as T;
    const log: Undo[] = [];
    undo = log;
    try {
      return callHook('sync', 'memory', () => work(transaction)) as T;
    } catch (error) {
      rollback(log, 0);
      throw error;
    } finally {
      undo = undefined;
    }
  };

  return {
    mode: 'sync',
    transaction: (work) => new Promise((resolve) => resolve(transactionSync(work))),
    transactionSync,
    reader: {
      get: (space, key) => Promise.resolve(kv.get(space, key)),
      list: (space, options) => Promise.resolve(kv.list(space, options)),
    },
    countEvents: (after, types) => Promise.resolve(source.countEvents(after, types)),
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify() {
      for (const listener of listeners) listener();
    },
  };
}
