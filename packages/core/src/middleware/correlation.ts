import { forward } from '../compose.ts';
import { runWithCause } from '../context.ts';
import type { Middleware } from './types.ts';

/**
 * Runs the handler with the delivered event as the cause, so that events it creates carry the same
 * correlation id and its id as their causation id, with nothing passed by hand.
 *
 * @example
 * createBus({ catalog, transport }); // on by default
 */
export function correlation(): Middleware {
  // Not `async`: the wrapper would add a promise to every delivery and forward nothing more.
  return function correlation(ctx, next) {
    const event = ctx.event;
    if (event === undefined) return forward(next);
    return runWithCause(event, () => forward(next));
  };
}
