/**
 * Where the idempotent middleware remembers which events a group has processed. `has` and `add` may be
 * called concurrently; entries may be forgotten after they expire.
 */
export interface InboxStore {
  /** True when `key` was recorded and has not expired by `now` (ms since the epoch, from the bus's clock). */
  has(key: string, now: number): Promise<boolean>;
  /** Records a processed key until `expiresAt` (ms since the epoch). */
  add(key: string, expiresAt: number): Promise<void>;
}

/**
 * An inbox kept in process memory: right for one process and for tests. Use the SQLite or PostgreSQL
 * inbox when several processes share a group, or when a restart must not forget.
 *
 * @example
 * idempotent({ store: memoryInbox() });
 */
export function memoryInbox(): InboxStore & { readonly size: number } {
  const entries = new Map<string, number>();
  let lastNow = Number.NEGATIVE_INFINITY;
  return {
    get size() {
      return entries.size;
    },
    has(key, now) {
      const expiresAt = entries.get(key);
      lastNow = Math.max(lastNow, now);
      if (expiresAt === undefined) return Promise.resolve(false);
      if (expiresAt > now) return Promise.resolve(true);
      entries.delete(key);
      return Promise.resolve(false);
    },
    add(key, expiresAt) {
      entries.set(key, expiresAt);
      // Amortised clean-up keeps a long-running process from growing without bound.
      if (entries.size % 1024 === 0) {
        for (const [stored, expiry] of entries) if (expiry <= lastNow) entries.delete(stored);
      }
      return Promise.resolve();
    },
  };
}
