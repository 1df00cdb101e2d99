import { createHash } from 'node:crypto';
import { invalidOptions } from '../errors.ts';

/**
 * When to save an aggregate's state, and how to write it. Snapshots are a cache: a missing, stale or
 * unreadable one only costs a full replay.
 */
export interface SnapshotPolicy<S> {
  /** Save the state once at least this many events were folded since the last snapshot. */
  readonly every: number;
  /**
   * Bump it when the state's meaning changes without `evolve`'s own text changing (a helper it calls,
   * an encoding): the key includes it, so old snapshots are never read again.
   */
  readonly version?: string | number | undefined;
  /** Turns the state into text (default `JSON.stringify`); needed for `Map`, `Date`, class instances. */
  readonly encode?: ((state: S) => string) | undefined;
  /** Reads what `encode` wrote (default `JSON.parse`). */
  readonly decode?: ((text: string) => S) | undefined;
}

/** Checks a snapshot policy. @throws TidingsError `TIDINGS_INVALID_OPTIONS`. @internal */
export function checkSnapshotPolicy(where: string, policy: unknown): void {
  if (policy === undefined) return;
  const problems: string[] = [];
  if (typeof policy !== 'object' || policy === null) {
    problems.push('snapshots must be an object such as { every: 100 }');
  } else {
    const p = policy as Partial<SnapshotPolicy<unknown>>;
    if (typeof p.every !== 'number' || !Number.isSafeInteger(p.every) || p.every < 1) {
      problems.push(`snapshots.every must be an integer >= 1 (got ${String(p.every)})`);
    }
    if (p.version !== undefined && typeof p.version !== 'string' && typeof p.version !== 'number') {
      problems.push('snapshots.version must be a string or a number');
    }
    if (p.encode !== undefined && typeof p.encode !== 'function')
      problems.push('snapshots.encode must be a function');
    if (p.decode !== undefined && typeof p.decode !== 'function')
      problems.push('snapshots.decode must be a function');
    if ((p.encode === undefined) !== (p.decode === undefined)) {
      problems.push('snapshots.encode and snapshots.decode go together; give both or neither');
    }
  }
  if (problems.length > 0) throw invalidOptions(where, problems);
}

const keys = new WeakMap<object, string>();

/**
 * The key snapshots of a fold are stored under: the policy's version and a hash of `evolve`'s source,
 * so that changing the code that builds the state never reads a snapshot the old code wrote.
 *
 * @example
 * snapshotKey(cart.evolve, { every: 50, version: 2 }); // '2:9f86d081884c7d65'
 */
export function snapshotKey(
  evolve: (...args: never[]) => unknown,
  policy: { readonly every: number; readonly version?: string | number | undefined },
): string {
  let hash = keys.get(evolve);
  if (hash === undefined) {
    hash = createHash('sha256').update(evolve.toString()).digest('hex').slice(0, 16);
    keys.set(evolve, hash);
  }
  return `${policy.version ?? 0}:${hash}`;
}
