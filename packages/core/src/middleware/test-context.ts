/**
 * A hand-built {@link MiddlewareContext} for the middleware unit tests: a delivery whose settle calls are
 * recorded, the manual clock, in-memory metrics and abort controllers the test owns.
 * @internal Test support; not exported from the package.
 */
import type { Event } from '../envelope.ts';
import { toTransportMessage } from '../message.ts';
import { createMetrics, type MemoryMetrics } from '../metrics.ts';
import { createManualClock, type ManualClock } from '../testing/manual-clock.ts';
import type { Delivery, FailureRecord, TransportMessage } from '../transport.ts';
import type { MiddlewareContext } from './types.ts';

/** What happened to a {@link RecordingDelivery}, call by call. */
export interface DeliveryCalls {
  readonly ack: number;
  readonly nack: readonly { delayMs?: number; tries?: number; failedAt?: number }[];
  readonly deadLetter: readonly FailureRecord[];
  readonly touch: number;
}

/** A delivery stand-in that settles nothing and records every call made on it. */
export interface RecordingDelivery extends Delivery {
  readonly calls: DeliveryCalls;
}

/** Options of {@link contextFor}; all have defaults. */
export interface ContextOptions {
  /** Set `ctx.event` to the event, as `validate` would have (default false: only the message is set). */
  readonly decoded?: boolean;
  /** The message delivered, instead of the event's own transport message (for malformed input). */
  readonly message?: TransportMessage;
  /** The delivery's attempt (default 1). */
  readonly attempt?: number;
  readonly group?: string;
  readonly handlerName?: string;
  /** Share a clock between contexts (default: a new manual clock at 2026-01-01T00:00:00Z). */
  readonly clock?: ManualClock;
  /** Share metrics between contexts (default: new in-memory metrics). */
  readonly metrics?: MemoryMetrics;
}

/** A context and the handles a test drives it with. */
export interface TestContext {
  readonly ctx: MiddlewareContext;
  readonly delivery: RecordingDelivery;
  readonly clock: ManualClock;
  readonly metrics: MemoryMetrics;
  /** Aborts `ctx.closing`: the consumer starts closing. */
  readonly closing: AbortController;
  /** Aborts the outer `ctx.signal`: the handler must stop. */
  readonly stop: AbortController;
  /** Events handed to `ctx.publish`, in order. */
  readonly published: readonly Event[];
}

/**
 * Builds the context of one delivery of `event`, as the bus would before its pipeline runs.
 *
 * @example
 * const { ctx, clock } = contextFor(Pinged.create({ n: 1 }), { attempt: 2 });
 */
export function contextFor(event: Event, options: ContextOptions = {}): TestContext {
  const message = options.message ?? toTransportMessage(event);
  const group = options.group ?? 'billing';
  const clock = options.clock ?? createManualClock();
  const metrics = options.metrics ?? createMetrics();
  const closing = new AbortController();
  const stop = new AbortController();
  const published: Event[] = [];
  const delivery = recordingDelivery(message, group, options.attempt ?? 1);
  const ctx: MiddlewareContext = {
    delivery,
    message,
    group,
    handlerName: options.handlerName ?? group,
    event: options.decoded === true ? event : undefined,
    signal: stop.signal,
    closing: closing.signal,
    tries: 0,
    firstFailedAt: undefined,
    outcome: undefined,
    clock,
    metrics,
    publish: (events) => {
      published.push(...(Array.isArray(events) ? (events as readonly Event[]) : [events as Event]));
      return Promise.resolve();
    },
  };
  return { ctx, delivery, clock, metrics, closing, stop, published };
}

function recordingDelivery(message: TransportMessage, group: string, attempt: number): RecordingDelivery {
  const calls = {
    ack: 0,
    nack: [] as { delayMs?: number; tries?: number; failedAt?: number }[],
    deadLetter: [] as FailureRecord[],
    touch: 0,
  };
  return {
    message,
    group,
    attempt,
    firstFailedAt: undefined,
    previousTries: attempt - 1,
    calls,
    ack() {
      calls.ack += 1;
      return Promise.resolve();
    },
    nack(options = {}) {
      calls.nack.push({ ...options });
      return Promise.resolve();
    },
    deadLetter(failure) {
      calls.deadLetter.push(failure);
      return Promise.resolve();
    },
    touch() {
      calls.touch += 1;
      return Promise.resolve();
    },
  };
}
