/**
 * Where the idempotent middleware remembers which events a group has processed. `has` and `add` may be
 * called concurrently; entries may be forgotten after they expire.
 */
export interface InboxStore {
  has(key: string): Promise<boolean>;
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
export function memoryInbox(options: { now?: () => number } = {}): InboxStore & { readonly size: number } {
  const now = options.now ?? Date.now;
  const entries = new Map<string, number>();
  return {
    get size() {
      return entries.size;
    },
    async has(key) {
      const expiresAt = entries.get(key);
      if (expiresAt === undefined) return false;
      if (expiresAt > now()) return true;
      entries.delete(key);
      return false;
    },
    async add(key, expiresAt) {
      entries.set(key, expiresAt);
      // Amortised clean-up keeps a long-running process from growing without bound.
      if (entries.size % 1024 === 0) {
        const current = now();
        for (const [stored, expiry] of entries) if (expiry <= current) entries.delete(stored);
      }
    },
  };
}
