import type { Clock } from '../clock.ts';
import { TidingsError } from '../errors.ts';
import type { Middleware } from './types.ts';

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
        const error = new TidingsError(
          'TIDINGS_TIMEOUT',
          `Handler ${ctx.handlerName} did not finish within ${ms} ms; it was aborted. Make it faster, or raise timeoutMs.`,
        );
        if (!finish()) return;
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

// The clock's cheap timer where it has one; otherwise a sleep that a controller cancels.
function startTimer(clock: Clock, ms: number, fire: () => void): () => void {
  if (clock.timer !== undefined) return clock.timer(ms, fire);
  const controller = new AbortController();
  clock.sleep(ms, controller.signal).then(fire, () => undefined);
  return () => controller.abort(CANCELLED);
}

// A ready-made reason: aborting without one builds a DOMException, and its stack, each time.
const CANCELLED = new TidingsError('TIDINGS_ABORTED', 'The timer was cancelled.');
