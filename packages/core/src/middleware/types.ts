import type { Clock } from '../clock.ts';
import type { Event } from '../envelope.ts';
import type { Metrics } from '../metrics.ts';
import type { Delivery, TransportMessage } from '../transport.ts';

/** How a delivery ends, decided by the middleware; none means ack. */
export type Outcome =
  | { readonly kind: 'skipped' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'retry-later'; readonly delayMs: number; readonly error: unknown }
  | {
      readonly kind: 'dead-letter';
      readonly reason: 'exhausted' | 'non-retryable' | 'invalid' | 'crash-loop';
      readonly error: unknown;
    };

/** What every middleware sees of one delivery while it is handled. */
export interface MiddlewareContext {
  readonly delivery: Delivery;
  readonly message: TransportMessage;
  readonly group: string;
  /** The handler's name in dead letters and metrics (the subscription's `name`, or its group). */
  readonly handlerName: string;
  /** The decoded, validated event; set by `validate`. */
  event: Event | undefined;
  /** Aborted when the handler should stop: a timeout, or the consumer closing. */
  signal: AbortSignal;
  /** Aborted when the consumer starts closing: waits (backoff) end early, handlers may still finish. */
  readonly closing: AbortSignal;
  /** Handler runs on this delivery so far. */
  tries: number;
  /** When this delivery's handler first failed (ms since the epoch). */
  firstFailedAt: number | undefined;
  /** How the delivery ends; left undefined, it is acked. */
  outcome: Outcome | undefined;
  readonly clock: Clock;
  readonly metrics: Metrics;
  /** Publishes through the bus; events created in the handler are correlated to `event`. */
  readonly publish: (events: Event | readonly Event[]) => Promise<void>;
}

/**
 * A middleware wraps the rest of the pipeline: it runs code before and after `next()`, may call it
 * again (retry) or not at all (an idempotency hit).
 */
export type Middleware = (ctx: MiddlewareContext, next: () => Promise<void>) => Promise<void>;
