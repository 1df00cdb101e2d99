import type { Middleware, MiddlewareContext } from './middleware/types.ts';

/**
 * Composes middleware into one onion: each runs around the ones after it, the last around `handler`.
 * @internal
 */
export function compose(
  middleware: readonly Middleware[],
  handler: (ctx: MiddlewareContext) => Promise<void>,
) {
  const count = middleware.length;
  return function run(ctx: MiddlewareContext): Promise<void> {
    const step = (index: number): Promise<void> => {
      if (index === count) return handler(ctx);
      return (middleware[index] as Middleware)(ctx, () => step(index + 1));
    };
    return step(0);
  };
}

/**
 * Calls `next` as an `async` middleware's `await next()` would see it: a throw becomes a rejection and
 * a value that is not a promise resolves. A native promise passes through without another one wrapping it.
 * @internal
 */
export function forward(next: () => void | Promise<void>): Promise<void> {
  try {
    return Promise.resolve(next());
  } catch (error) {
    // Whatever was thrown passes through unchanged, non-Errors included, as `await` would pass it.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(error);
  }
}
