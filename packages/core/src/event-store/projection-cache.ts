import type { MaybePromise } from './projection.ts';
import { andThen, type ProjectionKv, type ProjectionTransaction } from './projection-storage.ts';

const SEPARATOR = '\u0000';

/** A transaction whose key-value writes are held until {@link flush}. @internal */
export interface CachedTransaction extends ProjectionTransaction {
  /** Writes what was held, in as few statements as the store allows. */
  flush(): MaybePromise<void>;
}

/**
 * Wraps a transaction so that reads of a key are answered from memory after the first, and writes are
 * held and written together at the end: a batch that updates the same few documents hundreds of times
 * costs a few round trips instead of two per event (PostgreSQL). Only for batches applied without
 * savepoints: a savepoint rollback cannot undo what is held here.
 * @internal
 */
export function cachedTransaction(transaction: ProjectionTransaction): CachedTransaction {
  const inner = transaction.kv;
  const values = new Map<string, string | undefined>();
  const dirty = new Set<string>();
  const id = (space: string, key: string): string => `${space}${SEPARATOR}${key}`;

  const flush = (): MaybePromise<void> => {
    if (dirty.size === 0) return undefined;
    const writes = [...dirty].map((entry) => {
      const at = entry.indexOf(SEPARATOR);
      return [entry.slice(0, at), entry.slice(at + 1), values.get(entry)] as const;
    });
    dirty.clear();
    return inner.writeMany === undefined
      ? writes.reduce<MaybePromise<void>>(
          (previous, [space, key, value]) =>
            andThen(previous, () =>
              value === undefined ? inner.delete(space, key) : inner.put(space, key, value),
            ),
          undefined,
        )
      : inner.writeMany(writes);
  };

  const kv: ProjectionKv = {
    get(space, key) {
      const entry = id(space, key);
      if (values.has(entry)) return values.get(entry);
      return andThen(inner.get(space, key), (value) => {
        values.set(entry, value);
        return value;
      });
    },
    put(space, key, value) {
      const entry = id(space, key);
      values.set(entry, value);
      dirty.add(entry);
    },
    delete(space, key) {
      const entry = id(space, key);
      values.set(entry, undefined);
      dirty.add(entry);
    },
    list: (space, options) => andThen(flush(), () => inner.list(space, options)),
    clear: (prefix) =>
      andThen(flush(), () => {
        for (const entry of [...values.keys()]) if (entry.startsWith(prefix)) values.delete(entry);
        return inner.clear(prefix);
      }),
  };
  return { ...transaction, kv, flush };
}
