import type { Middleware, MiddlewareContext } from './middleware/types.ts';

/**
 * Composes middleware into one onion: each runs around the ones after it, the last around `handler`.
 * @internal
 */
export function compose(
  middleware: readonly Middleware[],
  handler: (ctx: MiddlewareContext) => Promise<void>,
) {
  return function run(ctx: MiddlewareContext): Promise<void> {
    const step = (index: number): Promise<void> => {
      const current = middleware[index];
      if (current === undefined) return handler(ctx);
      return current(ctx, () => step(index + 1));
    };
    return step(0);
  };
}
