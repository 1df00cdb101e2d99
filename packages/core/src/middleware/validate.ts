import { forward } from '../compose.ts';
import { adoptFromCatalog, type Catalog } from '../catalog.ts';
import type { Event } from '../envelope.ts';
import { readTransportMessage } from '../message.ts';
import type { TransportMessage } from '../transport.ts';
import type { Middleware, MiddlewareContext } from './types.ts';

/**
 * Decodes a delivered message into a validated, upcast, deeply frozen event of the latest version, in
 * one pass: the envelope is read without freezing, completed with the validated data and frozen once.
 *
 * @throws TidingsError `TIDINGS_MALFORMED`, `TIDINGS_UNKNOWN_TYPE`, `TIDINGS_SCHEMA_INVALID` or
 * `TIDINGS_VERSION_UNSUPPORTED`, as `catalog.upgrade(fromTransportMessage(message))` would.
 * @internal
 */
export function decodeMessage(catalog: Catalog, message: TransportMessage): Event {
  return adoptFromCatalog(catalog, readTransportMessage(message));
}

/**
 * Sets `ctx.event` from the delivery unless it is set already; returns false, with a dead-letter
 * outcome on the context, when the message is not a valid event.
 * @internal
 */
export function decodeInto(catalog: Catalog, ctx: MiddlewareContext): boolean {
  if (ctx.event !== undefined) return true;
  try {
    ctx.event = decodeMessage(catalog, ctx.message);
    return true;
  } catch (error) {
    // Decoding is deterministic: whatever failed (an upcaster's own bug included) fails again.
    ctx.outcome = { kind: 'dead-letter', reason: 'invalid', error };
    return false;
  }
}

/**
 * Decodes the delivery into an event and validates and upcasts it through the catalog. A message that
 * is not a valid event of a known type and version goes straight to the dead letters, unretried.
 *
 * @example
 * createBus({ catalog, transport, middleware: [validate(catalog)] }); // on by default
 */
export function validate(catalog: Catalog): Middleware {
  return function validate(ctx, next) {
    return decodeInto(catalog, ctx) ? forward(next) : Promise.resolve();
  };
}
