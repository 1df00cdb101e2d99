import type { EventDefinition, EventOf } from '../define-event.ts';
import type { Event } from '../envelope.ts';
import { invalidOptions } from '../errors.ts';
import type { ProjectionDocuments } from './projection-documents.ts';
import type { RecordedEvent } from './types.ts';

/** A value now, or later. SQLite hands projections plain values; PostgreSQL hands them promises. */
export type MaybePromise<T> = T | Promise<T>;

/** What a projection's `apply`, `setup` and `reset` receive besides the event. */
export interface ProjectionContext<Tx = unknown> {
  /** The projection's name. */
  readonly name: string;
  /** The version being built: name your own tables after it (`orders_v2`) so that versions can coexist. */
  readonly version: number;
  /**
   * The store's open transaction, which also holds the append (inline) or the checkpoint (async):
   * the better-sqlite3 `Database` on SQLite, a `pg` client on PostgreSQL, `undefined` in memory.
   */
  readonly tx: Tx;
  /** JSON documents kept in the store's database for this projection version, written in the same transaction. */
  readonly documents: ProjectionDocuments;
}

/** A projection: a read model kept up to date from the events of some types. */
export interface Projection<E extends Event = Event, Tx = unknown> {
  /** Names the read model; `[a-z0-9_-]`, kept across versions. */
  readonly name: string;
  /** Bump it when `apply` changes what it writes: the new version is built beside the old one, then takes over. */
  readonly version: number;
  /** The event types it reads (names); every other event passes it by. */
  readonly types: readonly string[];
  /**
   * Folds one event into the read model, inside the store's transaction. On SQLite it must be
   * synchronous (better-sqlite3 transactions cannot wait); a throw sends the event to the projection's
   * dead letters, undoes only this event's writes, and pauses the projection for that stream.
   */
  apply(event: RecordedEvent<E>, ctx: ProjectionContext<Tx>): unknown;
  /** Creates what `apply` writes to (your own tables); runs before the first event, in a transaction. */
  setup?(ctx: ProjectionContext<Tx>): unknown;
  /** Empties what `apply` wrote (your own tables) before a rebuild from scratch; documents are emptied for you. */
  reset?(ctx: ProjectionContext<Tx>): unknown;
}

/** The options of {@link defineProjection}: `events` as definitions (typed `apply`) or type names. */
export interface ProjectionOptions<D, Tx> {
  readonly name: string;
  readonly version?: number | undefined;
  /** The events it reads: definitions made with `defineEvent` (the event in `apply` is typed), or type names. */
  readonly events: readonly D[];
  readonly apply: (event: RecordedEvent<ProjectedEvent<D>>, ctx: ProjectionContext<Tx>) => unknown;
  readonly setup?: ((ctx: ProjectionContext<Tx>) => unknown) | undefined;
  readonly reset?: ((ctx: ProjectionContext<Tx>) => unknown) | undefined;
}

/** The event type `apply` receives for a list of definitions or names. */
export type ProjectedEvent<D> = D extends EventDefinition ? EventOf<D> : Event;

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Declares a projection (a CQRS read model). Run it inline, in the same transaction as each append
 * (`sqliteEventStore({ projections: [p] })`), or asynchronously with {@link runProjections}, which
 * writes its checkpoint in the same transaction as its changes: either way no event is applied twice.
 *
 * @example
 * const ordersByStatus = defineProjection({
 *   name: 'orders-by-status',
 *   events: [OrderPlaced, OrderShipped],
 *   apply: (event, { documents }) =>
 *     documents.put('orders', event.data.orderId, {
 *       status: event.type === 'OrderPlaced' ? 'placed' : 'shipped',
 *     }),
 * });
 */
export function defineProjection<const D extends EventDefinition | string, Tx = unknown>(
  options: ProjectionOptions<D, Tx>,
): Projection<ProjectedEvent<D>, Tx> {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    throw invalidOptions('defineProjection', ['options must be an object with name, events and apply']);
  }
  const { name, events, apply, setup, reset } = options;
  const version = options.version ?? 1;
  if (typeof name !== 'string' || !NAME.test(name)) {
    problems.push(
      `name must be 1 to 63 characters of a-z, 0-9, "-" and "_", starting with a letter or digit (got ${JSON.stringify(name)})`,
    );
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    problems.push(`version must be a whole number of 1 or more (got ${String(version)})`);
  }
  const types: string[] = [];
  if (!Array.isArray(events) || events.length === 0) {
    problems.push('events must be a non-empty array of event definitions or type names');
  } else {
    for (const entry of events as readonly unknown[]) {
      const type = typeof entry === 'string' ? entry : (entry as { type?: unknown } | null)?.type;
      if (typeof type === 'string' && type.length > 0) types.push(type);
      else problems.push(`events holds ${String(entry)}, which is neither a definition nor a type name`);
    }
  }
  if (typeof apply !== 'function') problems.push('apply must be a function (event, ctx) => ...');
  if (setup !== undefined && typeof setup !== 'function') problems.push('setup must be a function');
  if (reset !== undefined && typeof reset !== 'function') problems.push('reset must be a function');
  if (problems.length > 0) throw invalidOptions(`defineProjection(${JSON.stringify(name)})`, problems);
  return Object.freeze({
    name,
    version,
    types: Object.freeze([...new Set(types)]),
    apply,
    ...(setup === undefined ? {} : { setup }),
    ...(reset === undefined ? {} : { reset }),
  });
}

/** Checks a list of projections given to a store or runner: each defined, names unique. @internal */
export function checkProjections(where: string, projections: unknown): readonly Projection[] {
  if (projections === undefined) return [];
  if (!Array.isArray(projections)) {
    throw invalidOptions(where, ['projections must be an array of defineProjection(...) results']);
  }
  const problems: string[] = [];
  const names = new Set<string>();
  for (const projection of projections as readonly Partial<Projection>[]) {
    if (typeof projection?.apply !== 'function' || !Array.isArray(projection.types)) {
      problems.push('every projection must be made with defineProjection(...)');
    } else if (names.has(projection.name as string)) {
      problems.push(`two projections are named "${projection.name}": give each its own name`);
    } else names.add(projection.name as string);
  }
  if (problems.length > 0) throw invalidOptions(where, problems);
  return projections as readonly Projection[];
}
