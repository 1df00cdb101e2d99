import { AsyncLocalStorage } from 'node:async_hooks';

/** The correlation facts that flow from an event being handled to every event created while handling it. */
export interface Causation {
  /** The id shared by every event of one chain; a root event's own id. */
  readonly correlationId: string;
  /** The id of the event being handled, which becomes the `causationId` of events created now. */
  readonly causationId: string;
}

/** What is needed of an event to make it the cause of others. */
export interface CauseLike {
  readonly id: string;
  readonly correlationId: string;
}

const storage = new AsyncLocalStorage<Causation>();

// A synchronous listener cannot outlive the call that runs it, so a plain variable, set and restored
// around the call, carries its cause at a fraction of AsyncLocalStorage's cost. Async work falls back
// to the storage, whose context survives awaits.
let syncCause: CauseLike | undefined;

/**
 * Runs `fn` with `event` as the cause: events created inside, even after awaits, copy its correlation id
 * and take its id as their causation id.
 *
 * @example
 * await runWithCause(incoming, async () => {
 *   await bus.publish(PaymentCaptured.create({ orderId })); // correlated to `incoming`
 * });
 */
export function runWithCause<R>(event: CauseLike, fn: () => R): R {
  const cause: Causation = { correlationId: event.correlationId, causationId: event.id };
  const previous = syncCause;
  // The common case (no synchronous cause around this call) goes straight to the storage.
  if (previous === undefined) return storage.run(cause, fn);
  syncCause = undefined;
  try {
    return storage.run(cause, fn);
  } finally {
    syncCause = previous;
  }
}

/** The cause in effect here, if an event is being handled; `undefined` for root work. */
export function currentCause(): Causation | undefined {
  const sync = syncCause;
  if (sync !== undefined) return { correlationId: sync.correlationId, causationId: sync.id };
  return storage.getStore();
}

/**
 * Sets the synchronous cause and returns the previous one, which the caller must restore in `finally`.
 * @internal Used by the emitter's synchronous path.
 */
export function swapSyncCause(next: CauseLike | undefined): CauseLike | undefined {
  const previous = syncCause;
  syncCause = next;
  return previous;
}
