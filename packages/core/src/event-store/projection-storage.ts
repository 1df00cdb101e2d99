import type { MaybePromise } from './projection.ts';
import type { ProjectionRead } from './projection-state.ts';

/**
 * A small key-value table in the store's own database, where projections keep their bookkeeping
 * (state, dead letters, paused streams) and their documents. Keys sort as plain strings. Inside a
 * transaction every call is part of it; SQLite answers with plain values, PostgreSQL with promises.
 */
export interface ProjectionKv {
  get(space: string, key: string): MaybePromise<string | undefined>;
  put(space: string, key: string, value: string): MaybePromise<void>;
  delete(space: string, key: string): MaybePromise<void>;
  /** The entries of one space in key order, after `after`, at most `limit` (default all). */
  list(
    space: string,
    options?: { readonly after?: string | undefined; readonly limit?: number | undefined },
  ): MaybePromise<readonly (readonly [key: string, value: string])[]>;
  /** Removes every entry of every space whose name starts with `prefix`. */
  clear(prefix: string): MaybePromise<void>;
  /** Optional: writes many entries at once (`undefined` deletes), where that saves round trips. */
  writeMany?(
    entries: readonly (readonly [space: string, key: string, value: string | undefined])[],
  ): MaybePromise<void>;
}

/** One open transaction of the store's database, as projections use it. */
export interface ProjectionTransaction<Tx = unknown> {
  /** What `ctx.tx` is in `apply`: the driver's handle on this transaction. */
  readonly tx: Tx;
  readonly kv: ProjectionKv;
  /** Runs `work` so that, if it throws, only its own writes are undone (a savepoint). */
  isolate<T>(work: () => MaybePromise<T>): MaybePromise<T>;
  /**
   * Takes transaction-scoped locks on names (PostgreSQL advisory locks; nothing on SQLite, whose
   * transactions already exclude each other). Runners take their projection's name exclusively; appends
   * take the names of their inline projections shared, so a projection going live waits for them.
   */
  lock(names: readonly string[], mode: 'shared' | 'exclusive'): MaybePromise<void>;
  /**
   * Reads the global order inside the transaction, like `readAll` with a type filter, but an event the
   * store cannot read is returned as an {@link UnreadableEvent} instead of failing the read.
   */
  readAll(after: string | undefined, types: readonly string[], limit: number): MaybePromise<ProjectionRead>;
  /**
   * True for a database failure that says nothing about the event (a deadlock, a lost connection, a
   * timeout): it aborts the whole transaction to be tried again, instead of dead-lettering the event.
   */
  transient?(error: unknown): boolean;
}

/**
 * What a store offers projections: transactions on its database and the key-value table. A store
 * implements it once; the projection logic (inline application, runners, rebuilds, blue/green,
 * dead letters) lives in the core and works the same on every store.
 */
export interface ProjectionStorage<Tx = unknown> {
  /**
   * `sync`: the database driver is synchronous (better-sqlite3), so everything inside a transaction,
   * `apply` included, must return plain values; `async`: promises are awaited inside the transaction.
   */
  readonly mode: 'sync' | 'async';
  /** Runs `work` in one transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(work: (transaction: ProjectionTransaction<Tx>) => MaybePromise<T>): Promise<T>;
  /** Reads the table outside any transaction (status, documents, dead letters). */
  readonly reader: Pick<ProjectionKv, 'get' | 'list'>;
  /** How many events of these types lie after `after` (for progress); `undefined` when unknown. */
  countEvents(after: string | undefined, types: readonly string[]): Promise<number | undefined>;
  /** Calls `listener` after each append this store instance commits; returns the way to stop. */
  watch(listener: () => void): () => void;
}

/** True when a value is a promise (or any thenable). @internal */
export const isThenable = <T>(value: MaybePromise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';

/** Calls `next` with the value, at once when it is plain, after it resolves when it is a promise. @internal */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isThenable(value) ? value.then(next) : next(value);
}
