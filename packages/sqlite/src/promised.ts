/**
 * Runs synchronous database work as a promise: better-sqlite3 is synchronous, the contracts are not,
 * and a throw must reach the caller as a rejection. @internal
 */
export function promised<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}
