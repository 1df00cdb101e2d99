import type { Clock } from '../clock.ts';
import { TidingsError } from '../errors.ts';
import type { Middleware, MiddlewareContext } from './types.ts';

/**
 * Fails a handler run that takes longer than `ms`: its `signal` is aborted and the run counts as a
 * failed try (retried, then dead-lettered). A handler that never returns cannot hold a consumer forever.
 *
 * @example
 * await bus.subscribe({ group: 'mailer', handlers, middleware: [timeout(5_000)] });
 */
export function timeout(ms: number): Middleware {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new TidingsError(
      'TIDINGS_INVALID_OPTIONS',
      `timeout(ms) needs a positive number of milliseconds; got ${String(ms)}`,
    );
  }
  // Written with plain promise callbacks rather than async/await and Promise.race: this wraps every
  // handler run, and each extra promise costs on the hot path.
  return function timeout(ctx, next) {
    if (typeof (ctx as Partial<RunHost>)[INSTALL_RUN] === 'function') {
      return lazyTimeout(ctx as MiddlewareContext & RunHost, next, ms);
    }
    const outer = ctx.signal;
    const handlerRun = new AbortController();
    const onOuterAbort = (): void => handlerRun.abort(outer.reason);
    if (outer.aborted) onOuterAbort();
    else outer.addEventListener('abort', onOuterAbort, { once: true });
    ctx.signal = handlerRun.signal;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        cancel();
        outer.removeEventListener('abort', onOuterAbort);
        ctx.signal = outer;
        return true;
      };
      const cancel = startTimer(ctx.clock, ms, () => {
        if (!finish()) return;
        const error = timeoutError(ctx.handlerName, ms);
        handlerRun.abort(error);
        reject(error);
      });
      let run: Promise<void>;
      try {
        run = next();
      } catch (error) {
        // Whatever the handler threw passes through unchanged, non-Errors included: the dead letter says so.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        if (finish()) reject(error);
        return;
      }
      run.then(
        () => {
          if (finish()) resolve();
        },
        (error: unknown) => {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          if (finish()) reject(error);
        },
      );
    });
  };
}

// The same run on a context that takes a lazily made signal (the bus's own): `ctx.signal` reads make it.
function lazyTimeout(ctx: MiddlewareContext & RunHost, next: () => Promise<void>, ms: number): Promise<void> {
  const outer = ctx.signal;
  const run = new LazyRunSignal(outer);
  ctx[INSTALL_RUN](run);
  const startedAt = ctx.clock.now();
  let result: Promise<void>;
  try {
    result = Promise.resolve(next());
  } catch (error) {
    run.finish();
    ctx.signal = outer;
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(error);
  }
  return settleWithin(
    result,
    ctx.clock,
    ms - (ctx.clock.now() - startedAt),
    run,
    () => timeoutError(ctx.handlerName, ms),
    () => {
      ctx.signal = outer;
    },
  );
}

// The clock's cheap timer where it has one; otherwise a sleep that a controller cancels.
function startTimer(clock: Clock, ms: number, fire: () => void): () => void {
  if (clock.timer !== undefined) return clock.timer(ms, fire);
  const controller = new AbortController();
  clock.sleep(ms, controller.signal).then(fire, () => undefined);
  return () => controller.abort(CANCELLED);
}

// A ready-made reason: aborting without one builds a DOMException, and its stack, each time.
const CANCELLED = new TidingsError('TIDINGS_ABORTED', 'The timer was cancelled.');

/**
 * The `signal` of one handler run, made only when someone reads it: most handlers never do, and an
 * AbortSignal costs more to make than the rest of a delivery's bookkeeping. It behaves as one made up
 * front and tied to `outer` until {@link finish}: aborted when `outer` aborts or {@link abort} is called.
 * @internal
 */
export class LazyRunSignal {
  readonly #outer: AbortSignal;
  #controller: AbortController | undefined;
  #onOuterAbort: (() => void) | undefined;
  #aborted = false;
  #reason: unknown;
  #finished = false;
  #outerAbortedAtFinish = false;

  constructor(outer: AbortSignal) {
    this.#outer = outer;
  }

  /** The run's signal, made on first read. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const outer = this.#outer;
      if (this.#aborted) controller.abort(this.#reason);
      else if (this.#finished) {
        if (this.#outerAbortedAtFinish) controller.abort(outer.reason);
      } else if (outer.aborted) controller.abort(outer.reason);
      else {
        this.#onOuterAbort = () => controller.abort(outer.reason);
        outer.addEventListener('abort', this.#onOuterAbort, { once: true });
      }
    }
    return this.#controller.signal;
  }

  /** Aborts the run (its timeout fired). */
  abort(reason: unknown): void {
    if (this.#aborted || this.#finished) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** Unties the run from `outer`: it is over. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#outerAbortedAtFinish = this.#outer.aborted;
    if (this.#onOuterAbort !== undefined) {
      this.#outer.removeEventListener('abort', this.#onOuterAbort);
      this.#onOuterAbort = undefined;
    }
  }
}

/** The method of a context that takes a lazily made run signal as its `signal`. @internal */
export const INSTALL_RUN: unique symbol = Symbol('tidings.installRun');

/** A middleware context whose `signal` can be a {@link LazyRunSignal}'s, made only when read. @internal */
export interface RunHost {
  /** Makes `signal` return the run's signal until `signal` is set again. */
  [INSTALL_RUN](run: LazyRunSignal): void;
}

/** The error of a handler run that took longer than `ms`. @internal */
export function timeoutError(handlerName: string, ms: number): TidingsError {
  return new TidingsError(
    'TIDINGS_TIMEOUT',
    `Handler ${handlerName} did not finish within ${ms} ms; it was aborted. Make it faster, or raise timeoutMs.`,
  );
}

/**
 * Follows a handler run that went asynchronous: settles as `result` does, or, when `remainingMs` of the
 * clock's time pass first, aborts `run` and rejects with `onTimeout()`. `onFinish` runs as it settles.
 * @internal
 */
export function settleWithin(
  result: PromiseLike<unknown>,
  clock: Clock,
  remainingMs: number,
  run: LazyRunSignal,
  onTimeout: () => Error,
  onFinish?: () => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const cancel = startTimer(clock, Math.max(0, remainingMs), () => {
      if (settled) return;
      settled = true;
      const error = onTimeout();
      run.abort(error);
      run.finish();
      onFinish?.();
      reject(error);
    });
    result.then(
      () => {
        if (settled) return;
        settled = true;
        cancel();
        run.finish();
        onFinish?.();
        resolve();
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        run.finish();
        onFinish?.();
        // Whatever the handler threw passes through unchanged, non-Errors included: the dead letter says so.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(error);
      },
    );
  });
}
