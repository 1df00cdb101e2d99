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
    throw new TidingsError('TIDINGS_INVALID_OPTIONS', `timeout(ms) needs a positive number of milliseconds; got ${String(ms)}`);
  }
  return async function timeout(ctx, next) {
    const outer = ctx.signal;
    const handlerRun = new AbortController();
    const timer = new AbortController();
    const onOuterAbort = (): void => handlerRun.abort(outer.reason);
    outer.addEventListener('abort', onOuterAbort, { once: true });
    ctx.signal = handlerRun.signal;
    const expired = ctx.clock.sleep(ms, timer.signal).then(() => {
      const error = new TidingsError(
        'TIDINGS_TIMEOUT',
        `Handler ${ctx.handlerName} did not finish within ${ms} ms; it was aborted. Make it faster, or raise timeoutMs.`,
      );
      handlerRun.abort(error);
      throw error;
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      timer.abort();
      expired.catch(() => undefined);
      outer.removeEventListener('abort', onOuterAbort);
      ctx.signal = outer;
    }
  };
}
