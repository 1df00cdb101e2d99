import type { AnyEventDefinition, EventsOf, TypesOf } from './catalog.ts';

/** The payload of each event name: the shape a plain emitter is typed by. */
export type EventMap = Record<string, unknown>;

/** The event map of a catalog: each event type's name to its event. */
export type CatalogEventMap<E extends readonly AnyEventDefinition[]> = {
  [T in TypesOf<E>]: Extract<EventsOf<E>, { type: T }>;
};

/** Any listener, typed or wildcard, as recorded in a failure. */
export type AnyListener = (...args: never[]) => unknown;

/** A listener of one event name; it may be an `async function`. */
export type Listener<P> = (payload: P) => unknown;

/**
 * A listener of every event name, called with the payload and its name (`on('*', …)`). With a catalog,
 * narrow on `payload.type`: the payload is the union of the catalog's events.
 */
export type WildcardListener<M extends EventMap> = (
  payload: M[keyof M & string],
  type: keyof M & string,
) => unknown;

/** Removes the listener it was returned for; also `Disposable`, so `using off = emitter.on(…)` works. */
export interface Unsubscribe extends Disposable {
  (): void;
}

/** Options of `on` and `once`. */
export interface ListenOptions {
  /** Removes the listener when aborted; an already-aborted signal never adds it. */
  signal?: AbortSignal | undefined;
  /** Removes the listener before its first call. */
  once?: boolean | undefined;
}

/** Options of `emitAsync`. */
export interface EmitAsyncOptions {
  /** Run listeners one after another, each awaited, instead of all at once (default: the emitter's). */
  serial?: boolean | undefined;
}

/** Options of `events`. */
export interface EventsOptions {
  /** Ends the iteration when aborted, dropping payloads not yet consumed. */
  signal?: AbortSignal | undefined;
}

/** Which listener failed, on which emit: the second argument of `onError`. */
export interface ListenerErrorInfo {
  readonly type: string;
  readonly payload: unknown;
  readonly listener: AnyListener;
}

/** One listener that threw or rejected during an `emitAsync`. */
export interface ListenerFailure {
  readonly error: unknown;
  readonly listener: AnyListener;
  readonly type: string;
}

/** What `emitAsync` resolves with once every listener has settled. */
export interface EmitResult {
  /** How many listeners were called. */
  readonly listeners: number;
  /** The listeners that threw or rejected, in the order they ran. */
  readonly failures: readonly ListenerFailure[];
}

/** Options of {@link createEmitter}. */
export interface EmitterOptions {
  /**
   * Receives every error a listener throws or rejects with; the default logs it with `console.error`.
   * An `onError` that throws is ignored, so a listener can never break an emit.
   */
  onError?: ((error: unknown, info: ListenerErrorInfo) => void) | undefined;
  /** Whether `emitAsync` runs listeners one at a time by default (default: false, all at once). */
  serial?: boolean | undefined;
}

/** A typed in-process emitter over the event map `M`. */
export interface Emitter<M extends EventMap> {
  /** Adds a listener of every event name, called after that name's own listeners. */
  on(type: '*', listener: WildcardListener<M>, options?: ListenOptions): Unsubscribe;
  /** Adds a listener of `type`; listeners run in the order they were added. */
  on<K extends keyof M & string>(type: K, listener: Listener<M[K]>, options?: ListenOptions): Unsubscribe;
  /** Adds a wildcard listener that is removed before its first call. */
  once(type: '*', listener: WildcardListener<M>, options?: Omit<ListenOptions, 'once'>): Unsubscribe;
  /** Adds a listener of `type` that is removed before its first call. */
  once<K extends keyof M & string>(
    type: K,
    listener: Listener<M[K]>,
    options?: Omit<ListenOptions, 'once'>,
  ): Unsubscribe;
  /** Removes the earliest registration of `listener` for `type`; false when there was none. */
  off(type: '*', listener: WildcardListener<M>): boolean;
  /** Removes the earliest registration of `listener` for `type`; false when there was none. */
  off<K extends keyof M & string>(type: K, listener: Listener<M[K]>): boolean;
  /**
   * Calls every listener of `type`, then every wildcard listener, before returning; true when there was
   * at least one. It never throws: listener errors, and rejections of promises they return, go to `onError`.
   */
  emit<K extends keyof M & string>(type: K, payload: M[K]): boolean;
  /** Calls every listener like `emit` and resolves, never rejects, once all of them have settled. */
  emitAsync<K extends keyof M & string>(
    type: K,
    payload: M[K],
    options?: EmitAsyncOptions,
  ): Promise<EmitResult>;
  /** Iterates the payloads of `type` from now on, buffering those not yet consumed, until `return()` or abort. */
  events<K extends keyof M & string>(type: K, options?: EventsOptions): AsyncIterableIterator<M[K]>;
  /** Listeners of `type` (`'*'`: wildcard listeners); with no argument, all listeners. */
  listenerCount(type?: (keyof M & string) | '*'): number;
}

/** An emitter typed by a catalog: each type's listeners receive its events, and `emit(event)` works. */
export interface CatalogEmitter<E extends readonly AnyEventDefinition[]> extends Emitter<CatalogEventMap<E>> {
  /** Calls the listeners of `event.type` with `event`, then the wildcard listeners; see {@link Emitter.emit}. */
  emit(event: EventsOf<E>): boolean;
  /** Calls every listener of `type`, then every wildcard listener; see {@link Emitter.emit}. */
  emit<K extends TypesOf<E>>(type: K, payload: CatalogEventMap<E>[K]): boolean;
  /** Calls the listeners of `event.type` and waits for all of them; see {@link Emitter.emitAsync}. */
  emitAsync(event: EventsOf<E>, options?: EmitAsyncOptions): Promise<EmitResult>;
  /** Calls every listener of `type` and waits for all of them; see {@link Emitter.emitAsync}. */
  emitAsync<K extends TypesOf<E>>(
    type: K,
    payload: CatalogEventMap<E>[K],
    options?: EmitAsyncOptions,
  ): Promise<EmitResult>;
}
