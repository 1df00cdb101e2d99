import type { AnyEventDefinition, Catalog } from './catalog.ts';
import type {
  EventMap,
  Unsubscribe,
  ListenOptions,
  EmitAsyncOptions,
  EventsOptions,
  ListenerErrorInfo,
  ListenerFailure,
  EmitResult,
  EmitterOptions,
  Emitter,
  CatalogEmitter,
} from './emitter-types.ts';
import { type CauseLike, runWithCause, swapSyncCause } from './context.ts';
import { describe } from './envelope.ts';
import { invalidOptions, TidingsError } from './errors.ts';

interface Entry {
  readonly listener: (payload: unknown, type?: string) => unknown;
  /** The event name it listens to, or `'*'`. */
  readonly key: string;
  readonly wildcard: boolean;
  readonly isAsync: boolean;
  readonly once: boolean;
  active: boolean;
  /** Active, synchronous and not `once`: `emit` calls it inline, without the checks the others need. */
  fast: boolean;
  release: (() => void) | undefined;
}

type Outcome = ListenerFailure | Promise<ListenerFailure | undefined>;

const WILDCARD = '*';
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);
// Listener arrays by event name live on an object without Object's prototype, so any name is safe, but
// not from Object.create(null), which V8 makes a slow dictionary: looking a name up stays a property load.
const REGISTRY_PROTOTYPE: object = Object.freeze(Object.create(null) as object);
const NO_FAILURES: readonly ListenerFailure[] = Object.freeze([]);
const AsyncFunction = (async () => {}).constructor;
// Results without failures differ only by their count, so the common ones are made once and shared,
// together with an already-resolved promise of each.
const SHARED_RESULTS: readonly EmitResult[] = Array.from({ length: 33 }, (_, listeners) =>
  Object.freeze({ listeners, failures: NO_FAILURES }),
);
const SHARED_PROMISES: readonly Promise<EmitResult>[] = SHARED_RESULTS.map((result) =>
  Promise.resolve(result),
);
const SHARED_FULFILMENTS: readonly (() => EmitResult)[] = SHARED_RESULTS.map((result) => () => result);
const noop = (): void => {};

const defaultOnError = (error: unknown, info: ListenerErrorInfo): void => {
  console.error(`[tidings] a listener of "${info.type}" failed:`, error);
};

function resultOf(listeners: number, failures: ListenerFailure[] | undefined): EmitResult {
  if (failures !== undefined && failures.length > 0) {
    return Object.freeze({ listeners, failures: Object.freeze(failures) });
  }
  return SHARED_RESULTS[listeners] ?? Object.freeze({ listeners, failures: NO_FAILURES });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== undefined && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The payload as a cause, when it is an event (has a string `id` and `correlationId`). */
function causeOf(payload: unknown): CauseLike | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { id, correlationId } = payload as { id?: unknown; correlationId?: unknown };
  return typeof id === 'string' && typeof correlationId === 'string' ? (payload as CauseLike) : undefined;
}

function isCatalog(value: unknown): value is Catalog {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Catalog>;
  return Array.isArray(candidate.events) && typeof candidate.decode === 'function';
}

// Emits run their listeners with the event being emitted as the synchronous cause (`swapSyncCause`): a
// synchronous listener cannot outlive its call, so that plain variable is all it needs. An async one goes
// on after its first await, where only AsyncLocalStorage survives; moving the cause there costs a closure,
// paid only when there is a cause to carry.
function callListener(entry: Entry, type: string, payload: unknown): unknown {
  const fn = entry.listener;
  if (entry.isAsync) {
    const cause = swapSyncCause(undefined);
    if (cause !== undefined) {
      swapSyncCause(cause);
      return runWithCause(cause, () => (entry.wildcard ? fn(payload, type) : fn(payload)));
    }
  }
  return entry.wildcard ? fn(payload, type) : fn(payload);
}

/**
 * Creates a typed in-process emitter, typed by an event map or by a catalog.
 *
 * Listeners run in the order they were added, then the wildcard (`'*'`) listeners in theirs. Each is
 * isolated: one that throws or rejects never stops the others nor the emit; its error goes to `onError`.
 *
 * Choosing sync or async listeners: a synchronous listener blocks the emitter and has finished before
 * `emit` returns, which suits cheap, in-memory reactions. An `async function` listener runs until its first
 * `await`, then `emit` returns while it goes on; use `emitAsync` to wait for it, and to learn whether it
 * failed. Events created inside either kind, even after an await in an `async function`, are correlated
 * to the event being handled.
 *
 * @example
 * const emitter = createEmitter(catalog);
 * emitter.on('OrderPlaced', (event) => totals.add(event.data.total));
 * emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));
 * const { failures } = await emitter.emitAsync(OrderPlaced.create({ orderId: 'o-2', total: 7 }));
 */
export function createEmitter<const E extends readonly AnyEventDefinition[]>(
  catalog: Catalog<E>,
  options?: EmitterOptions,
): CatalogEmitter<E>;
/** Creates a typed in-process emitter over the event map `M`; see the catalog overload for the details. */
export function createEmitter<M extends EventMap = EventMap>(options?: EmitterOptions): Emitter<M>;
// One implementation serves both overloads; a catalog is told from options by its `events` and `decode`.
export function createEmitter(
  catalogOrOptions?: Catalog | EmitterOptions,
  maybeOptions?: EmitterOptions,
): Emitter<EventMap> & CatalogEmitter<readonly AnyEventDefinition[]> {
  const catalog = isCatalog(catalogOrOptions) ? catalogOrOptions : undefined;
  const options = ((catalog === undefined ? catalogOrOptions : maybeOptions) ?? {}) as EmitterOptions;
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    problems.push(`options must be an object (got ${describe(options)})`);
  } else {
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      problems.push(`onError must be a function (got ${describe(options.onError)})`);
    }
    if (options.serial !== undefined && typeof options.serial !== 'boolean') {
      problems.push(`serial must be true or false (got ${describe(options.serial)})`);
    }
  }
  if (problems.length > 0) throw invalidOptions('createEmitter', problems);

  const onError = options.onError ?? defaultOnError;
  const serialByDefault = options.serial ?? false;
  const known =
    catalog === undefined ? undefined : new Set(catalog.events.map((definition) => definition.type));
  // Copy-on-write: adding or removing a listener replaces the array, so an emit iterates the one it
  // started with, without copying it.
  const typed = Object.create(REGISTRY_PROTOTYPE) as Record<string, readonly Entry[] | undefined>;
  let wildcards: readonly Entry[] = NO_ENTRIES;

  const report = (error: unknown, entry: Entry, type: string, payload: unknown): ListenerFailure => {
    try {
      onError(error, { type, payload, listener: entry.listener });
    } catch {
      // An error handler that fails has nowhere better to report to; the emit must go on.
    }
    return { error, listener: entry.listener, type };
  };

  const remove = (entry: Entry): void => {
    if (!entry.active) return;
    entry.active = false;
    entry.fast = false;
    entry.release?.();
    if (entry.wildcard) {
      wildcards = wildcards.filter((other) => other !== entry);
      return;
    }
    // Emptied, not deleted: deleting a property would turn the registry into a slow dictionary.
    typed[entry.key] = (typed[entry.key] ?? NO_ENTRIES).filter((other) => other !== entry);
  };

  // Marks a listener as called now; false when it was removed since the emit took its snapshot.
  const claim = (entry: Entry): boolean => {
    if (!entry.active) return false;
    if (entry.once) remove(entry);
    return true;
  };

  const checkType = (where: string, type: unknown): string => {
    if (typeof type !== 'string' || type.length === 0) {
      throw invalidOptions(`emitter.${where}`, [`type must be an event name or "*" (got ${describe(type)})`]);
    }
    if (known !== undefined && type !== WILDCARD && !known.has(type)) {
      throw new TidingsError(
        'TIDINGS_UNKNOWN_TYPE',
        `emitter.${where}("${type}"): "${type}" is not in the catalog. Known types: ${[...known].join(', ')}.`,
        { details: { type } },
      );
    }
    return type;
  };

  const on = (type: string, listener: Entry['listener'], listenOptions: ListenOptions = {}): Unsubscribe => {
    checkType('on', type);
    if (typeof listener !== 'function') {
      throw invalidOptions(`emitter.on("${type}")`, [
        `listener must be a function (got ${describe(listener)})`,
      ]);
    }
    const { signal } = listenOptions;
    const wildcard = type === WILDCARD;
    const isAsync = listener instanceof AsyncFunction;
    const once = listenOptions.once === true;
    const active = signal?.aborted !== true;
    const entry: Entry = {
      listener,
      key: type,
      wildcard,
      isAsync,
      once,
      active,
      fast: active && !isAsync && !once,
      release: undefined,
    };
    const unsubscribe = (() => remove(entry)) as Unsubscribe;
    unsubscribe[Symbol.dispose] = unsubscribe;
    if (!entry.active) return unsubscribe;
    if (signal !== undefined) {
      const onAbort = (): void => remove(entry);
      signal.addEventListener('abort', onAbort, { once: true });
      entry.release = () => signal.removeEventListener('abort', onAbort);
    }
    if (wildcard) wildcards = [...wildcards, entry];
    else typed[type] = [...(typed[type] ?? NO_ENTRIES), entry];
    return unsubscribe;
  };

  const off = (type: string, listener: unknown): boolean => {
    const list = type === WILDCARD ? wildcards : (typed[type] ?? NO_ENTRIES);
    const entry = list.find((candidate) => candidate.listener === listener);
    if (entry === undefined) return false;
    remove(entry);
    return true;
  };

  // Attaches to a promise a listener returned, so that its rejection reaches onError.
  const watch = (result: unknown, entry: Entry, type: string, payload: unknown): void => {
    if (isThenable(result)) result.then(undefined, (error: unknown) => report(error, entry, type, payload));
  };

  // Everything the inline path of `emit` leaves out: removed and `once` listeners, async ones, wildcards.
  const dispatch = (entry: Entry, type: string, payload: unknown): void => {
    if (!claim(entry)) return;
    let result: unknown;
    try {
      result = callListener(entry, type, payload);
    } catch (error) {
      report(error, entry, type, payload);
      return;
    }
    if (result !== undefined && result !== null) watch(result, entry, type, payload);
  };

  // The hot path: small enough to inline, with the common listener called in place.
  const dispatchAll = (
    list: readonly Entry[],
    wild: readonly Entry[],
    type: string,
    payload: unknown,
  ): void => {
    for (let index = 0; index < list.length; index += 1) {
      const entry = list[index] as Entry;
      if (entry.fast) {
        let result: unknown;
        try {
          result = entry.listener(payload);
        } catch (error) {
          report(error, entry, type, payload);
          continue;
        }
        if (result !== undefined && result !== null) watch(result, entry, type, payload);
      } else {
        dispatch(entry, type, payload);
      }
    }
    for (let index = 0; index < wild.length; index += 1) dispatch(wild[index] as Entry, type, payload);
  };

  const emit = (first: unknown, second?: unknown): boolean => {
    let type = first as string;
    let payload = second;
    if (typeof first !== 'string') {
      payload = first;
      type = (first as { type: string }).type;
    }
    const list = typed[type] ?? NO_ENTRIES;
    const wild = wildcards;
    if (list.length === 0 && wild.length === 0) return false;
    const cause = causeOf(payload);
    if (cause === undefined) {
      dispatchAll(list, wild, type, payload);
    } else {
      const previous = swapSyncCause(cause);
      try {
        dispatchAll(list, wild, type, payload);
      } finally {
        swapSyncCause(previous);
      }
    }
    return true;
  };

  const settle = async (
    promise: PromiseLike<unknown>,
    entry: Entry,
    type: string,
    payload: unknown,
  ): Promise<ListenerFailure | undefined> => {
    try {
      await promise;
      return undefined;
    } catch (error) {
      return report(error, entry, type, payload);
    }
  };

  const awaitOne = (
    promise: PromiseLike<unknown>,
    entry: Entry,
    type: string,
    payload: unknown,
    listeners: number,
  ): Promise<EmitResult> =>
    Promise.resolve(promise).then(
      SHARED_FULFILMENTS[listeners] ?? (() => resultOf(listeners, undefined)),
      (error: unknown) => resultOf(listeners, [report(error, entry, type, payload)]),
    );

  const awaitAll = async (outcomes: readonly Outcome[], listeners: number): Promise<EmitResult> => {
    const failures: ListenerFailure[] = [];
    for (const outcome of outcomes) {
      const failure = await outcome;
      if (failure !== undefined) failures.push(failure);
    }
    return resultOf(listeners, failures);
  };

  const runSerially = async (
    list: readonly Entry[],
    wild: readonly Entry[],
    type: string,
    payload: unknown,
  ): Promise<EmitResult> => {
    const cause = causeOf(payload);
    let listeners = 0;
    let failures: ListenerFailure[] | undefined;
    for (const entry of [...list, ...wild]) {
      if (!claim(entry)) continue;
      listeners += 1;
      // Between awaits other code runs, so the cause is set anew around each call.
      const previous = cause === undefined ? undefined : swapSyncCause(cause);
      try {
        let result: unknown;
        try {
          result = callListener(entry, type, payload);
        } finally {
          if (cause !== undefined) swapSyncCause(previous);
        }
        if (isThenable(result)) await result;
      } catch (error) {
        (failures ??= []).push(report(error, entry, type, payload));
      }
    }
    return resultOf(listeners, failures);
  };

  // Calls every listener at once and returns a promise of their outcomes.
  const startAll = (
    list: readonly Entry[],
    wild: readonly Entry[],
    type: string,
    payload: unknown,
  ): Promise<EmitResult> => {
    const count = list.length + wild.length;
    let listeners = 0;
    // The first pending listener is kept aside, so the common case of one async listener allocates no
    // array; a second outcome (pending or failed) moves everything into `outcomes`, in call order.
    let single: PromiseLike<unknown> | undefined;
    let singleEntry: Entry | undefined;
    let outcomes: Outcome[] | undefined;
    for (let index = 0; index < count; index += 1) {
      const entry = (index < list.length ? list[index] : wild[index - list.length]) as Entry;
      if (!claim(entry)) continue;
      listeners += 1;
      let outcome: Outcome;
      try {
        const result = callListener(entry, type, payload);
        if (!isThenable(result)) continue;
        if (single === undefined && outcomes === undefined) {
          single = result;
          singleEntry = entry;
          continue;
        }
        outcome = settle(result, entry, type, payload);
      } catch (error) {
        outcome = report(error, entry, type, payload);
      }
      if (outcomes === undefined) {
        outcomes = single === undefined ? [] : [settle(single, singleEntry as Entry, type, payload)];
        single = undefined;
      }
      outcomes.push(outcome);
    }
    if (outcomes !== undefined) return awaitAll(outcomes, listeners);
    if (single !== undefined) return awaitOne(single, singleEntry as Entry, type, payload, listeners);
    return SHARED_PROMISES[listeners] ?? Promise.resolve(resultOf(listeners, undefined));
  };

  const emitAsync = (first: unknown, second?: unknown, third?: unknown): Promise<EmitResult> => {
    const byName = typeof first === 'string';
    const type = byName ? first : (first as { type: string }).type;
    const payload = byName ? second : first;
    const emitOptions = (byName ? third : second) as EmitAsyncOptions | undefined;
    const list = typed[type] ?? NO_ENTRIES;
    const wild = wildcards;
    const count = list.length + wild.length;
    if (count === 0) return SHARED_PROMISES[0] as Promise<EmitResult>;
    if (emitOptions?.serial ?? serialByDefault) return runSerially(list, wild, type, payload);

    const cause = causeOf(payload);
    if (cause === undefined) return startAll(list, wild, type, payload);
    const previous = swapSyncCause(cause);
    try {
      return startAll(list, wild, type, payload);
    } finally {
      swapSyncCause(previous);
    }
  };

  const events = (type: string, eventsOptions: EventsOptions = {}): AsyncIterableIterator<unknown> => {
    checkType('events', type);
    const { signal } = eventsOptions;
    const buffered: unknown[] = [];
    const waiting: ((result: IteratorResult<unknown>) => void)[] = [];
    let ended = signal?.aborted === true;
    const end = (): IteratorResult<unknown> => {
      if (!ended) {
        ended = true;
        unsubscribe();
        signal?.removeEventListener('abort', end);
        buffered.length = 0;
        for (const resolve of waiting.splice(0)) resolve({ done: true, value: undefined });
      }
      return { done: true, value: undefined };
    };
    const unsubscribe = ended
      ? noop
      : on(type, (payload) => {
          const resolve = waiting.shift();
          if (resolve === undefined) buffered.push(payload);
          else resolve({ done: false, value: payload });
        });
    signal?.addEventListener('abort', end, { once: true });
    return {
      next: () => {
        if (buffered.length > 0) return Promise.resolve({ done: false, value: buffered.shift() });
        if (ended) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return: () => Promise.resolve(end()),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  };

  const listenerCount = (type?: string): number => {
    if (type === WILDCARD) return wildcards.length;
    if (type !== undefined) return typed[type]?.length ?? 0;
    let total = wildcards.length;
    for (const list of Object.values(typed)) total += list?.length ?? 0;
    return total;
  };

  const emitter = {
    on,
    once: (type: string, listener: Entry['listener'], listenOptions: ListenOptions = {}) =>
      on(type, listener, { ...listenOptions, once: true }),
    off,
    emit,
    emitAsync,
    events,
    listenerCount,
  };
  return Object.freeze(emitter) as unknown as Emitter<EventMap> &
    CatalogEmitter<readonly AnyEventDefinition[]>;
}
