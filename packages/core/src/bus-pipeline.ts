import type { HandlerContext, Handler } from './bus.ts';
import type { Catalog } from './catalog.ts';
import type { Clock } from './clock.ts';
import { forward } from './compose.ts';
import { runWithCause } from './context.ts';
import type { Event } from './envelope.ts';
import type { Metrics } from './metrics.ts';
import type { Meter } from './middleware/measure.ts';
import {
  INSTALL_RUN,
  LazyRunSignal,
  type RunHost,
  settleWithin,
  timeoutError,
} from './middleware/timeout.ts';
import type { MiddlewareContext, Outcome } from './middleware/types.ts';
import { decodeInto } from './middleware/validate.ts';
import type { Delivery, TransportMessage } from './transport.ts';

// The pieces of the bus's delivery path: the context of a delivery, the handler contexts, and the
// default middleware fused into one function. Classes here, against the habit of the code base, for
// their prototype getters: a `signal` made only when read, which an object literal cannot give cheaply.

/** The outcome of a delivery no handler of the subscription takes. @internal */
export const SKIPPED: Outcome = Object.freeze({ kind: 'skipped' });

/** What the contexts of one subscription's deliveries share. @internal */
export interface SharedContext {
  readonly group: string;
  readonly handlerName: string;
  /** Aborted when a closing subscription's deadline passes. */
  readonly signal: AbortSignal;
  readonly closing: AbortSignal;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly publish: (events: Event | readonly Event[]) => Promise<void>;
}

/**
 * The middleware context of one delivery (@internal). Its `signal` is an accessor, so that the timeout middleware
 * can put a handler run's signal there without making it ({@link LazyRunSignal}): most runs never
 * read it, and an AbortSignal is costly to make.
 */
export class DeliveryContext implements MiddlewareContext, RunHost {
  readonly delivery: Delivery;
  readonly message: TransportMessage;
  readonly group: string;
  readonly handlerName: string;
  event: Event | undefined = undefined;
  readonly closing: AbortSignal;
  tries = 0;
  firstFailedAt: number | undefined = undefined;
  outcome: Outcome | undefined = undefined;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly publish: (events: Event | readonly Event[]) => Promise<void>;
  #signal: AbortSignal;
  #run: LazyRunSignal | undefined = undefined;

  constructor(delivery: Delivery, shared: SharedContext) {
    this.delivery = delivery;
    this.message = delivery.message;
    this.group = shared.group;
    this.handlerName = shared.handlerName;
    this.closing = shared.closing;
    this.clock = shared.clock;
    this.metrics = shared.metrics;
    this.publish = shared.publish;
    this.#signal = shared.signal;
  }

  get signal(): AbortSignal {
    return this.#run === undefined ? this.#signal : this.#run.signal;
  }

  set signal(signal: AbortSignal) {
    this.#run = undefined;
    this.#signal = signal;
  }

  [INSTALL_RUN](run: LazyRunSignal): void {
    this.#run = run;
  }

  /** Where `signal` comes from now: a signal, or a run that makes its signal when read. */
  signalSource(): AbortSignal | LazyRunSignal {
    return this.#run ?? this.#signal;
  }
}

/** The handler context of the composed pipeline (@internal); its `signal` is made, if need be, only when read. */
export class StepContext implements HandlerContext {
  readonly #source: AbortSignal | LazyRunSignal;
  readonly group: string;
  readonly attempt: number;
  readonly publish: (events: Event | readonly Event[]) => Promise<void>;

  constructor(
    source: AbortSignal | LazyRunSignal,
    group: string,
    attempt: number,
    publish: (events: Event | readonly Event[]) => Promise<void>,
  ) {
    this.#source = source;
    this.group = group;
    this.attempt = attempt;
    this.publish = publish;
  }

  get signal(): AbortSignal {
    const source = this.#source;
    return source instanceof LazyRunSignal ? source.signal : source;
  }
}

/**
 * The context of one handler run in the built-in pipeline, and the run's lazily made signal (its
 * `signal` getter lives on the prototype: an object literal with a getter costs microseconds to make).
 */
class RunContext extends LazyRunSignal implements HandlerContext {
  readonly group: string;
  readonly attempt: number;
  readonly publish: (events: Event | readonly Event[]) => Promise<void>;

  constructor(
    outer: AbortSignal,
    group: string,
    attempt: number,
    publish: (events: Event | readonly Event[]) => Promise<void>,
  ) {
    super(outer);
    this.group = group;
    this.attempt = attempt;
    this.publish = publish;
  }
}

/** What the built-in pipeline needs of its subscription. @internal */
export interface BuiltInParts {
  readonly catalog: Catalog;
  readonly clock: Clock;
  readonly meter: Meter;
  /** The retry policy, or `undefined` when the subscription does not retry. */
  readonly afterFailure:
    | ((ctx: MiddlewareContext, next: () => Promise<void>, failure: unknown) => Promise<void>)
    | undefined;
  readonly timeoutMs: number;
  readonly handlerFor: (event: Event) => Handler<Event> | undefined;
}

/**
 * The default middleware (measure, retry, validate, correlation, timeout) fused into one function, for
 * subscriptions without middleware of their own: what `compose` makes of them, minus a promise per
 * layer. A handler that returns without a promise is finished synchronously (the result is
 * `undefined`); its `signal` is only made if it is read, and its timer only started if it goes async.
 * Each step reuses the code of its middleware, so both paths keep the same rules.
 * @internal
 */
export function builtInPipeline(parts: BuiltInParts): (ctx: MiddlewareContext) => void | Promise<void> {
  const { catalog, clock, meter, afterFailure, timeoutMs, handlerFor } = parts;

  // One run of the handler, as validate → correlation → timeout → handler would make it.
  const runOnce = (ctx: MiddlewareContext): void | Promise<void> => {
    if (!decodeInto(catalog, ctx)) return undefined;
    const event = ctx.event as Event;
    const handler = handlerFor(event);
    if (handler === undefined) {
      ctx.outcome = SKIPPED;
      return undefined;
    }
    ctx.tries += 1;
    const run = new RunContext(ctx.signal, ctx.group, ctx.delivery.attempt, ctx.publish);
    const startedAt = clock.now();
    let result: unknown;
    try {
      result = runWithCause(event, () => handler(event, run));
    } catch (error) {
      run.finish();
      throw error;
    }
    if (!isPromiseLike(result)) {
      // Synchronous: no timer could have fired before it returned.
      run.finish();
      return undefined;
    }
    return settleWithin(result, clock, timeoutMs - (clock.now() - startedAt), run, () =>
      timeoutError(ctx.handlerName, timeoutMs),
    );
  };

  const again = (ctx: MiddlewareContext): Promise<void> => forward(() => runOnce(ctx));

  const retrying =
    afterFailure === undefined
      ? undefined
      : (ctx: MiddlewareContext, failure: unknown): Promise<void> =>
          afterFailure(ctx, () => again(ctx), failure);

  return function builtIn(ctx) {
    const started = meter.begin(ctx.group);
    const counted = (): void => meter.end(ctx, ctx.outcome?.kind ?? 'ack', started);
    const failed = (error: unknown): never => {
      meter.end(ctx, 'error', started);
      throw error;
    };
    let pending: void | Promise<void>;
    try {
      pending = runOnce(ctx);
    } catch (failure) {
      if (retrying === undefined) return failed(failure);
      return retrying(ctx, failure).then(counted, failed);
    }
    if (pending === undefined) {
      counted();
      return undefined;
    }
    // One reaction for the usual case; a failed run continues into the retries from there.
    return pending.then(counted, (failure: unknown) =>
      retrying === undefined ? failed(failure) : retrying(ctx, failure).then(counted, failed),
    );
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
