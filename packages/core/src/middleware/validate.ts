import type { Catalog } from '../catalog.ts';
import { fromTransportMessage } from '../message.ts';
import type { Middleware } from './types.ts';

/**
 * Decodes the delivery into an event and validates and upcasts it through the catalog. A message that
 * is not a valid event of a known type and version goes straight to the dead letters, unretried.
 *
 * @example
 * createBus({ catalog, transport, middleware: [validate(catalog)] }); // on by default
 */
export function validate(catalog: Catalog): Middleware {
  return async function validate(ctx, next) {
    if (ctx.event === undefined) {
      try {
        ctx.event = catalog.upgrade(fromTransportMessage(ctx.message));
      } catch (error) {
        // Decoding is deterministic: whatever failed (an upcaster's own bug included) fails again.
        ctx.outcome = { kind: 'dead-letter', reason: 'invalid', error };
        return;
      }
    }
    await next();
  };
}
