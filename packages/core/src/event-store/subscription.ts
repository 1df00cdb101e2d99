import { type Clock, systemClock } from '../clock.ts';
import { invalidOptions, TidingsError } from '../errors.ts';
import type { CheckpointStore } from './checkpoints.ts';
import type { EventStore, GlobalPosition, RecordedEvent } from './types.ts';

/** What a subscription's handler gets besides the events. */
export interface StoreSubscriptionContext {
  /** The subscription's name (its checkpoint's key). */
  readonly name: string;
  /** Aborted when the subscription is closing: finish or give up the current work soon. */
  readonly signal: AbortSignal;
}

/** Handles one stored event; a rejection stops the subscription at this event and retries it. */
export type StoreEventHandler = (event: RecordedEvent, ctx: StoreSubscriptionContext) => unknown;

/** Handles a batch of stored events at once; a rejection retries the whole batch. */
export type StoreBatchHandler = (events: readonly RecordedEvent[], ctx: StoreSubscriptionContext) => unknown;

/** Where a subscription failed, as {@link SubscribeToAllOptions.onError} is told. */
export interface StoreSubscriptionFailure {
  readonly name: string;
  /** `load` or `save` (the checkpoint store), `read` (the event store), `handle` (your handler). */
  readonly stage: 'load' | 'read' | 'handle' | 'save';
  /** The checkpoint the subscription stands at (`undefined`: the beginning). */
  readonly position: GlobalPosition | undefined;
  /** The event the handler failed on (for a batch handler, the batch's first). */
  readonly event?: RecordedEvent | undefined;
  /** 1 for the first failure in a row, then one more per retry. */
  readonly attempt: number;
  /** How long the subscription waits before it tries again. */
  readonly delayMs: number;
}

/** Options of {@link subscribeToAll}. */
export interface SubscribeToAllOptions {
  /** Names the subscription's checkpoint: one name per reader, kept across restarts. */
  readonly name: string;
  /**
   * Where the position is loaded from at start and saved after each handled batch (default
   * `store.checkpoints`: the store's own database, so a durable store's subscriptions resume after a restart).
   */
  readonly checkpoints?: CheckpointStore | undefined;
  /** Called for each event, one at a time, in the global order. Give this or `handleBatch`. */
  readonly handler?: StoreEventHandler | undefined;
  /** Called with each batch read, in the global order. Give this or `handler`. */
  readonly handleBatch?: StoreBatchHandler | undefined;
  /** Only events of these types (the checkpoint still moves past the others). */
  readonly types?: readonly string[] | undefined;
  /** Events read at once, and so at most handled between two checkpoint saves (default 100). */
  readonly batchSize?: number | undefined;
  /** How long to wait before reading again once caught up (default 500 ms). */
  readonly pollIntervalMs?: number | undefined;
  /** Waits after a failure: `initialMs` (default 100), doubling up to `maxMs` (default 30 000). */
  readonly backoff?:
    | { readonly initialMs?: number | undefined; readonly maxMs?: number | undefined }
    | undefined;
  /** Where time comes from (default the system clock); tests pass a manual clock. */
  readonly clock?: Clock | undefined;
  /** Aborting it closes the subscription, as `close()` does. */
  readonly signal?: AbortSignal | undefined;
  /** Told of every failure before the wait that follows it (default: logged with `console.error`). */
  readonly onError?: ((error: unknown, failure: StoreSubscriptionFailure) => void) | undefined;
}

/** A running subscription to the global order. */
export interface StoreSubscription {
  /** Stops reading, lets the event being handled finish, saves how far it got, and resolves. */
  close(): Promise<void>;
  /** The last saved checkpoint: every event up to it was handled (`undefined` before the first load). */
  position(): GlobalPosition | undefined;
  /** True when the last read found nothing more and everything it read was handled. */
  caughtUp(): boolean;
  /**
   * Resolves once the subscription has handled and checkpointed everything up to `position` (the
   * position an append returned: read-your-writes). Rejects when `signal` aborts or the subscription closes first.
   */
  waitFor(position: GlobalPosition, options?: { readonly signal?: AbortSignal | undefined }): Promise<void>;
}

interface Waiter {
  readonly target: GlobalPosition;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

type Step = 'more' | 'idle' | 'failed';

const isPositiveInteger = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) > 0;
const isDelay = (value: unknown): boolean =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

function subscriptionProblems(store: EventStore, options: SubscribeToAllOptions): string[] {
  const problems: string[] = [];
  if (typeof store?.readAll !== 'function') problems.push('store must be an EventStore (with readAll)');
  if (typeof options !== 'object' || options === null) return [...problems, 'options must be an object'];
  const { name, handler, handleBatch, types, batchSize, pollIntervalMs, backoff, clock } = options;
  if (typeof name !== 'string' || name.length === 0) problems.push('name must be a non-empty string');
  const checkpoints = options.checkpoints ?? store?.checkpoints;
  if (typeof checkpoints?.load !== 'function' || typeof checkpoints.save !== 'function') {
    problems.push(
      options.checkpoints === undefined
        ? 'the store has no checkpoints (store.checkpoints); pass checkpoints, e.g. memoryCheckpoints()'
        : 'checkpoints must have load() and save() (e.g. store.checkpoints or memoryCheckpoints())',
    );
  }
  if ((handler === undefined) === (handleBatch === undefined)) {
    problems.push('give exactly one of handler (per event) and handleBatch (per batch)');
  } else if (typeof (handler ?? handleBatch) !== 'function') {
    problems.push(`${handler === undefined ? 'handleBatch' : 'handler'} must be a function`);
  }
  if (types !== undefined && (!Array.isArray(types) || types.some((t) => typeof t !== 'string'))) {
    problems.push('types must be an array of event type names');
  }
  if (batchSize !== undefined && !isPositiveInteger(batchSize)) {
    problems.push(`batchSize must be a whole number of 1 or more (got ${String(batchSize)})`);
  }
  if (pollIntervalMs !== undefined && !(isDelay(pollIntervalMs) && pollIntervalMs > 0)) {
    problems.push(`pollIntervalMs must be a number of ms above 0 (got ${String(pollIntervalMs)})`);
  }
  if (backoff !== undefined) {
    if (backoff.initialMs !== undefined && !(isDelay(backoff.initialMs) && backoff.initialMs > 0))
      problems.push('backoff.initialMs must be a number of ms above 0');
    if (backoff.maxMs !== undefined && !isDelay(backoff.maxMs))
      problems.push('backoff.maxMs must be a number of ms');
  }
  if (clock !== undefined && typeof clock?.sleep !== 'function') problems.push('clock must have sleep()');
  if (options.onError !== undefined && typeof options.onError !== 'function')
    problems.push('onError must be a function');
  return problems;
}

const closedError = (name: string): TidingsError =>
  new TidingsError('TIDINGS_CLOSED', `Subscription "${name}" is closed; waitFor can no longer be met.`);

/**
 * Follows the store's global order from a saved checkpoint (kept in `store.checkpoints` unless you pass
 * `checkpoints`): it catches up with the history, then keeps polling for new events. Delivery is at
 * least once: the checkpoint is saved after the events are
 * handled, so a crash in between delivers them again, and a failing handler is retried at the same event
 * (with a growing backoff) rather than skipped. Make handlers idempotent.
 *
 * @example
 * const subscription = subscribeToAll(store, {
 *   name: 'welcome-emails', // its checkpoint's key in store.checkpoints
 *   types: ['UserRegistered'],
 *   handler: async (event) => sendWelcome(event.data),
 * });
 * const { position } = await store.append('user-7', [UserRegistered.create({ email })]);
 * await subscription.waitFor(position);
 * await subscription.close();
 */
export function subscribeToAll(store: EventStore, options: SubscribeToAllOptions): StoreSubscription {
  const problems = subscriptionProblems(store, options);
  if (problems.length > 0) throw invalidOptions('subscribeToAll', problems);
  const { name, handler, handleBatch, types } = options;
  const checkpoints = options.checkpoints ?? store.checkpoints;
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const initialMs = options.backoff?.initialMs ?? 100;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  const clock = options.clock ?? systemClock;
  const onError =
    options.onError ??
    ((error: unknown) => console.error(`[tidings] subscription "${name}" failed, retrying:`, error));

  const controller = new AbortController();
  const stop = controller.signal;
  const ctx: StoreSubscriptionContext = { name, signal: stop };
  const waiters = new Set<Waiter>();
  let position: GlobalPosition | undefined;
  let live = false;
  let failures = 0;

  const reached = (target: GlobalPosition): boolean => position !== undefined && position >= target;
  const settleWaiters = (): void => {
    for (const waiter of waiters) {
      if (!reached(waiter.target)) continue;
      waiters.delete(waiter);
      waiter.resolve();
    }
  };

  const pause = async (ms: number): Promise<void> => {
    try {
      await clock.sleep(ms, stop);
    } catch {
      // Aborted by close(): the loop sees it and ends.
    }
  };

  const fail = async (
    stage: StoreSubscriptionFailure['stage'],
    error: unknown,
    event?: RecordedEvent,
  ): Promise<void> => {
    failures += 1;
    live = false;
    const delayMs = Math.min(maxMs, initialMs * 2 ** (failures - 1));
    try {
      onError(error, { name, stage, position, event, attempt: failures, delayMs });
    } catch {
      // A failing error hook must not stop the subscription.
    }
    await pause(delayMs);
  };

  const save = async (next: GlobalPosition, caughtUp = false): Promise<boolean> => {
    if (position !== undefined && next <= position) {
      live = caughtUp;
      return true;
    }
    try {
      await checkpoints.save(name, next);
    } catch (error) {
      // The position stays where it was saved last, so the next read delivers these events again.
      await fail('save', error);
      return false;
    }
    position = next;
    live = caughtUp; // before the waiters wake, so they see it
    settleWaiters();
    return true;
  };

  /** Hands events to the handler; returns how many were handled, and the error that stopped it. */
  const handle = async (events: readonly RecordedEvent[]): Promise<{ count: number; error?: unknown }> => {
    if (handleBatch !== undefined) {
      if (events.length === 0) return { count: 0 };
      try {
        await handleBatch(events, ctx);
        return { count: events.length };
      } catch (error) {
        return { count: 0, error };
      }
    }
    let count = 0;
    for (const event of events) {
      if (stop.aborted) break;
      try {
        await (handler as StoreEventHandler)(event, ctx);
      } catch (error) {
        return { count, error };
      }
      count += 1;
    }
    return { count };
  };

  const step = async (): Promise<Step> => {
    let read: Awaited<ReturnType<EventStore['readAll']>>;
    try {
      read = await store.readAll({ after: position, limit: batchSize, types });
    } catch (error) {
      await fail('read', error);
      return 'failed';
    }
    const { events } = read;
    const handled = await handle(events);
    if (handled.count < events.length) {
      // Stopped early (a handler error, or close): keep what was handled, retry from the next event.
      const done = events[handled.count - 1];
      if (done !== undefined && !(await save(done.position))) return 'failed';
      if ('error' in handled) await fail('handle', handled.error, events[handled.count]);
      return 'failed';
    }
    const before = position;
    if (!(await save(read.position, read.caughtUp))) return 'failed';
    failures = 0;
    // Nothing new and no progress (caught up, or a PostgreSQL reader held behind an open transaction): wait.
    return read.caughtUp || position === before ? 'idle' : 'more';
  };

  const run = async (): Promise<void> => {
    while (!stop.aborted) {
      try {
        position = await checkpoints.load(name);
        settleWaiters();
        break;
      } catch (error) {
        await fail('load', error);
      }
    }
    while (!stop.aborted) {
      if ((await step()) === 'idle') await pause(pollIntervalMs);
    }
    live = false;
    for (const waiter of waiters) waiter.reject(closedError(name));
    waiters.clear();
  };

  const finished = run();
  const onAbort = (): void => controller.abort();
  if (options.signal?.aborted === true) controller.abort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  return {
    async close() {
      controller.abort();
      options.signal?.removeEventListener('abort', onAbort);
      await finished;
    },
    position: () => position,
    caughtUp: () => live,
    waitFor(target, waitOptions = {}) {
      if (typeof target !== 'string' || target.length === 0) {
        return Promise.reject(
          invalidOptions('waitFor', ['position must be a position an append or readAll returned']),
        );
      }
      if (reached(target)) return Promise.resolve();
      if (stop.aborted) return Promise.reject(closedError(name));
      const signal = waitOptions.signal;
      if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
      return new Promise<void>((resolve, reject) => {
        const onWaitAbort = (): void => {
          waiters.delete(waiter);
          reject(signal?.reason as Error);
        };
        const waiter: Waiter = {
          target,
          resolve: () => {
            signal?.removeEventListener('abort', onWaitAbort);
            resolve();
          },
          reject: (error) => {
            signal?.removeEventListener('abort', onWaitAbort);
            reject(error);
          },
        };
        waiters.add(waiter);
        signal?.addEventListener('abort', onWaitAbort, { once: true });
      });
    },
  };
}
