import { describeError, failureFingerprint } from '../dead-letters.ts';
import { TidingsError } from '../errors.ts';
import type { FailureRecord } from '../transport.ts';
import { toCloudEvent } from '../cloudevents.ts';
import type { MaybePromise, Projection, ProjectionContext } from './projection.ts';
import { documentsOn } from './projection-documents.ts';
import { spaces, type StoredProjectionDeadLetter, type UnreadableEvent } from './projection-state.ts';
import { isThenable, type ProjectionTransaction, andThen } from './projection-storage.ts';
import type { RecordedEvent } from './types.ts';

/** What applying a run of events did. @internal */
export interface Applied {
  applied: number;
  deadLettered: number;
}

/** Thrown out of a transaction that applied without savepoints, to redo it with one per event. @internal */
export class NeedsIsolation extends Error {
  constructor(readonly failure: unknown) {
    super('a projection failed on an event; redoing the batch with one savepoint per event');
  }
}

/** How a batch is applied inside one transaction. @internal */
export interface ApplyPlan {
  readonly transaction: ProjectionTransaction;
  readonly mode: 'sync' | 'async';
  readonly projection: Projection;
  /**
   * True: each event gets a savepoint, so a failing one is dead-lettered alone. False: faster, and the
   * first failure throws {@link NeedsIsolation} so the caller redoes the batch isolated.
   */
  readonly isolate: boolean;
  readonly now: () => number;
  /** Apply even in a paused stream (a replay of the stream's dead letters). */
  readonly ignorePaused?: boolean | undefined;
}

/** Runs work and hands a throw or a rejection to `onError`, keeping plain values plain. @internal */
export function attempt<T>(
  work: () => MaybePromise<T>,
  onError: (error: unknown) => MaybePromise<T>,
): MaybePromise<T> {
  let result: MaybePromise<T>;
  try {
    result = work();
  } catch (error) {
    return onError(error);
  }
  return isThenable(result) ? result.then(undefined, onError) : result;
}

/** Calls `step` for each item in turn, waiting for each when it returns a promise. @internal */
export function each<T>(
  items: readonly T[],
  step: (item: T) => MaybePromise<void>,
  from = 0,
): MaybePromise<void> {
  for (let index = from; index < items.length; index += 1) {
    const done = step(items[index] as T);
    if (isThenable(done)) return done.then(() => each(items, step, index + 1));
  }
  return undefined;
}

/** The context `apply`, `setup` and `reset` receive in this transaction. @internal */
export function projectionContext(plan: Pick<ApplyPlan, 'transaction' | 'projection'>): ProjectionContext {
  const { transaction, projection } = plan;
  return {
    name: projection.name,
    version: projection.version,
    tx: transaction.tx,
    documents: documentsOn(transaction.kv, projection.name, projection.version),
  };
}

const syncOnly = (name: string): TidingsError =>
  new TidingsError(
    'TIDINGS_UNSUPPORTED',
    `Projection "${name}" returned a promise from apply, but this store's transactions are synchronous ` +
      '(better-sqlite3): write apply without await, and do slow work in a subscription instead.',
  );

/** Calls a projection hook, refusing a promise where the store cannot wait for one. @internal */
export function callHook<T = unknown>(
  mode: 'sync' | 'async',
  name: string,
  hook: () => MaybePromise<T>,
): MaybePromise<T> {
  const result = hook();
  if (mode === 'sync' && isThenable(result)) {
    // Keep the rejection from going unhandled; the error below is what the caller sees.
    (result as Promise<unknown>).then(undefined, () => undefined);
    throw syncOnly(name);
  }
  return result;
}

type Item = RecordedEvent | UnreadableEvent;
const isUnreadable = (item: Item): item is UnreadableEvent => (item as UnreadableEvent).unreadable === true;

function failure(
  error: unknown,
  handler: string,
  reason: FailureRecord['reason'],
  at: number,
): FailureRecord {
  const described = describeError(error);
  return {
    handler,
    error: described,
    attempts: reason === 'paused' ? 0 : 1,
    firstFailedAt: at,
    lastFailedAt: at,
    fingerprint: failureFingerprint(described.name, described.message, handler),
    reason,
  };
}

function deadLetter(
  plan: ApplyPlan,
  item: Item,
  reason: FailureRecord['reason'],
  error: unknown,
  counts: Applied,
): MaybePromise<void> {
  const { projection, transaction } = plan;
  const { name, version } = projection;
  const at = plan.now();
  const unreadable = isUnreadable(item);
  const record: StoredProjectionDeadLetter = {
    ...failure(error, `projection:${name}@${version}`, reason, at),
    id: spaces.deadId(name, version, item.position),
    name,
    version,
    stream: item.stream,
    streamVersion: item.streamVersion,
    position: item.position,
    type: item.type ?? 'unknown',
    event: unreadable ? undefined : toCloudEvent(item),
    recordedAt: unreadable ? undefined : item.recordedAt,
    deadLetteredAt: at,
  };
  counts.deadLettered += 1;
  const kv = transaction.kv;
  return andThen(kv.put(spaces.dead(name, version), item.position, JSON.stringify(record)), () =>
    reason === 'paused' ? undefined : kv.put(spaces.paused(name, version), item.stream, item.position),
  );
}

const pausedError = (plan: ApplyPlan, stream: string): Error => {
  const error = new Error(
    `An earlier event of stream "${stream}" is in the dead letters of projection "${plan.projection.name}"; ` +
      'this one waits behind it. Replay or discard the earlier one, then replay this one.',
  );
  error.name = 'StreamPaused';
  return error;
};

/**
 * Applies events (and dead-letters unreadable ones) to one projection inside an open transaction, in
 * order. A stream with a dead letter is paused for this projection: its later events become dead
 * letters too (reason `paused`), so the read model never applies a stream's events out of order,
 * while every other stream goes on.
 * @internal
 */
export function applyItems(plan: ApplyPlan, items: readonly Item[], counts: Applied): MaybePromise<void> {
  const { projection, transaction, mode } = plan;
  const ctx = projectionContext(plan);
  const pausedSpace = spaces.paused(projection.name, projection.version);
  const run = (event: RecordedEvent) => (): MaybePromise<unknown> =>
    callHook(mode, projection.name, () => projection.apply(event, ctx));
  // The paused streams, read once per batch (there are few); a failure below adds its stream.
  return andThen(items.length === 0 ? [] : transaction.kv.list(pausedSpace), (rows) => {
    const paused = new Set(rows.map(([stream]) => stream));
    const hold = (item: Item, reason: 'invalid' | 'non-retryable', error: unknown): MaybePromise<void> => {
      paused.add(item.stream);
      return deadLetter(plan, item, reason, error, counts);
    };
    return each(items, (item): MaybePromise<void> => {
      if (paused.has(item.stream) && plan.ignorePaused !== true)
        return deadLetter(plan, item, 'paused', pausedError(plan, item.stream), counts);
      if (isUnreadable(item)) return hold(item, 'invalid', item.error);
      if (!plan.isolate) {
        return andThen(
          attempt(run(item), (error) => {
            throw new NeedsIsolation(error);
          }),
          () => {
            counts.applied += 1;
          },
        );
      }
      return attempt(
        () =>
          andThen(transaction.isolate(run(item)), () => {
            counts.applied += 1;
          }),
        (error) => {
          if (transaction.transient?.(error) === true) throw error;
          return hold(item, 'non-retryable', error);
        },
      );
    });
  });
}
