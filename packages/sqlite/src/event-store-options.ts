import {
  type Catalog,
  type Clock,
  inlineProjectionsOf,
  invalidOptions,
  type Projection,
  systemClock,
} from '@tidings/core';
import { databaseProblems, type SqliteDatabaseOptions } from './options.ts';

/** Options of {@link sqliteEventStore}. */
export type SqliteEventStoreOptions = SqliteDatabaseOptions & {
  /** Upcasts every event read to its latest version, and rejects events it cannot read. */
  readonly catalog?: Catalog | undefined;
  /** Where `recordedAt` comes from (default the system clock); tests pass a manual clock. */
  readonly clock?: Clock | undefined;
  /** `PRAGMA synchronous` (default `NORMAL` for a file the store opens; WAL makes it safe). */
  readonly synchronous?: 'NORMAL' | 'FULL' | undefined;
  /** How long an append waits for another process's write to finish, in ms (default 5000). */
  readonly busyTimeoutMs?: number | undefined;
  /**
   * Projections applied inside every append's transaction, once they have caught up with the history
   * (their `apply` must be synchronous). Every process appending to the file must list the same ones.
   */
  readonly projections?: readonly Projection[] | undefined;
};

/** The options with every default filled in. @internal */
export interface ResolvedEventStoreOptions {
  readonly catalog: Catalog | undefined;
  readonly clock: Clock;
  readonly synchronous: 'NORMAL' | 'FULL' | undefined;
  readonly busyTimeoutMs: number | undefined;
  readonly projections: readonly Projection[];
}

const KEYS = new Set(['file', 'database', 'catalog', 'clock', 'synchronous', 'busyTimeoutMs', 'projections']);

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 * @internal
 */
export function resolveEventStoreOptions(options: SqliteEventStoreOptions): ResolvedEventStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOptions('sqliteEventStore', [
      "options must be an object such as { file: 'app.db' } (or ':memory:' in tests)",
    ]);
  }
  const raw = options as Record<string, unknown>;
  const problems = databaseProblems(raw);
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  }
  const catalog = raw.catalog as Partial<Catalog> | undefined;
  if (catalog !== undefined && typeof catalog?.upgrade !== 'function') {
    problems.push('catalog must be made with createCatalog()');
  }
  const clock = raw.clock as Partial<Clock> | undefined;
  if (clock !== undefined && typeof clock?.now !== 'function') problems.push('clock must have now()');
  if (raw.synchronous !== undefined && raw.synchronous !== 'NORMAL' && raw.synchronous !== 'FULL') {
    problems.push(`synchronous must be 'NORMAL' or 'FULL' (got ${JSON.stringify(raw.synchronous)})`);
  }
  const busy = raw.busyTimeoutMs;
  if (busy !== undefined && (typeof busy !== 'number' || !Number.isSafeInteger(busy) || busy < 0)) {
    problems.push(`busyTimeoutMs must be an integer >= 0 (got ${JSON.stringify(busy)})`);
  }
  if (problems.length > 0) throw invalidOptions('sqliteEventStore', problems);
  // A file we open gets the production defaults; a borrowed database keeps its own settings unless told.
  const owned = options.file !== undefined;
  return {
    catalog: options.catalog,
    clock: options.clock ?? systemClock,
    synchronous: options.synchronous ?? (owned ? 'NORMAL' : undefined),
    busyTimeoutMs: options.busyTimeoutMs ?? (owned ? 5000 : undefined),
    projections: inlineProjectionsOf('sqliteEventStore', options.projections),
  };
}
