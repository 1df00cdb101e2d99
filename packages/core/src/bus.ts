import { setMaxListeners } from 'node:events';
import type { AnyEventDefinition, Catalog, EventsOf, TypesOf } from './catalog.ts';
import { type Clock, systemClock } from './clock.ts';
import { compose } from './compose.ts';
import {
  createDeadLetters,
  type DeadLetter,
  type DeadLetters,
  describeError,
  failureFingerprint,
} from './dead-letters.ts';
import type { Event } from './envelope.ts';
import { invalidOptions, TidingsError } from './errors.ts';
import type { EventFilter } from './filter.ts';
import { toTransportMessage } from './message.ts';
import { type Metrics, noopMetrics } from './metrics.ts';
import { correlation } from './middleware/correlation.ts';
import { createMeter, measure } from './middleware/measure.ts';
import {
  isRetryable,
  type RetryOptions,
  retry,
  retryAfterFailure,
  retryProblems,
} from './middleware/retry.ts';
import {
  builtInPipeline,
  DeliveryContext,
  type SharedContext,
  SKIPPED,
  StepContext,
} from './bus-pipeline.ts';
import { planSubscription } from './subscription-plan.ts';
import { timeout } from './middleware/timeout.ts';
import type { Middleware, MiddlewareContext, Outcome } from './middleware/types.ts';
import { validate } from './middleware/validate.ts';
import type { Delivery, FailureRecord, Transport, TransportConsumer, TransportMessage } from './transport.ts';

/** What a handler gets besides the event. */
export interface HandlerContext {
  readonly group: string;
  /** 1 on the first delivery of this message to this group; higher on redeliveries. */
  readonly attempt: number;
  /**
   * Aborted when the handler should stop (timeout, or the consumer shutting down). Made when first read
   * (a getter), so a handler that never reads it costs nothing: read it, do not spread the context.
   */
  readonly signal: AbortSignal;
  /** Publishes events through the bus; events created in the handler are already correlated to it. */
  publish(events: Event | readonly Event[]): Promise<void>;
}

/** A handler of one event type (or of several, as a union). */
export type Handler<E extends Event> = (event: E, ctx: HandlerContext) => unknown;

/** Handlers by event type. */
export type HandlerMap<E extends readonly AnyEventDefinition[]> = {
  readonly [T in TypesOf<E>]?: Handler<Extract<EventsOf<E>, { type: T }>>;
};

/** Options of `bus.subscribe`. */
export interface SubscribeOptions<E extends readonly AnyEventDefinition[]> {
  /** The consumer group: every group gets every event, members of one group share them. */
  group: string;
  /** Handlers by event type; their keys are subscribed. */
  handlers?: HandlerMap<E>;
  /** One handler for every subscribed event. */
  handler?: Handler<EventsOf<E>>;
  /** Event types (definitions or names) to receive with `handler`. */
  events?: readonly (E[number] | TypesOf<E>)[];
  /** Wildcard patterns over the catalog's types: `Order*`, `billing.*`, `*`. */
  patterns?: readonly string[];
  /** A content filter: events that do not match are acked without running a handler. */
  filter?: EventFilter;
  /** Deliveries handled at once by this member (default 1). */
  concurrency?: number;
  /** Handle events of one subject one at a time, in order (needs a transport with per-subject ordering). */
  ordered?: boolean;
  /** Middleware run inside the defaults, around the handler. */
  middleware?: readonly Middleware[];
  /** Retry policy for this subscription, or `false` to dead-letter on the first failure. */
  retry?: RetryOptions | false;
  /** Longest handler run, in ms (default: the bus's, 60 s). */
  timeoutMs?: number;
  /** How long a delivery stays leased to this member without renewal (default 30 s). */
  leaseMs?: number;
  /** The handler's name in dead letters and metrics (default: the group). */
  name?: string;
  /** Deliveries after which a message that never settles (it crashes the process) is quarantined. */
  maxDeliveries?: number;
}

/** A running subscription. */
export interface Subscription {
  readonly group: string;
  readonly topics: readonly string[];
  /** Stops fetching and waits for in-flight handlers (up to `timeoutMs`, default 30 s). */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Options of {@link createBus}. */
export interface BusOptions<E extends readonly AnyEventDefinition[]> {
  catalog: Catalog<E>;
  transport: Transport;
  /** The channel events travel on (default `events`). */
  channel?: string;
  clock?: Clock;
  metrics?: Metrics;
  /** The default retry policy of subscriptions. */
  retry?: RetryOptions | false;
  /** The default longest handler run (default 60 s). */
  timeoutMs?: number;
  /** Middleware for every subscription, run inside the defaults, around the handler. */
  middleware?: readonly Middleware[];
  /** Called after each dead letter is stored. */
  /**
   * Called after each dead letter is stored, with everything but its storage id (find it with
   * `deadLetters.list({ group, fingerprint })`).
   */
  onDeadLetter?: (deadLetter: Omit<DeadLetter, 'id'>) => void | Promise<void>;
  /** Called when a group's dead-letter depth reaches `threshold` (again after it fell below). */
  deadLetterAlert?: {
    threshold: number;
    onAlert: (alert: { group: string; depth: number }) => void | Promise<void>;
  };
  /** Receives errors the bus cannot hand to anyone else (a failing hook, a settle that failed). */
  onError?: (error: unknown) => void;
}

/** Publishes events and runs consumers over a transport. */
export interface Bus<E extends readonly AnyEventDefinition[]> {
  readonly catalog: Catalog<E>;
  readonly transport: Transport;
  readonly deadLetters: DeadLetters;
  /**
   * Publishes events; resolves once the transport has accepted them (durably, for a persistent one).
   *
   * @throws TidingsError `TIDINGS_UNKNOWN_TYPE` for an event not in the catalog, `TIDINGS_CLOSED` after close.
   */
  publish(events: EventsOf<E> | readonly EventsOf<E>[]): Promise<void>;
  subscribe(options: SubscribeOptions<E>): Promise<Subscription>;
  /** Closes every subscription gracefully, then the transport. */
  close(options?: { timeoutMs?: number }): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a bus: typed publish and subscribe over a transport, with validation, retries, dead letters,
 * correlation, timeouts and metrics on by default.
 *
 * @example
 * const bus = createBus({ catalog, transport: sqliteTransport({ file: 'shop.db' }) });
 * await bus.subscribe({
 *   group: 'payments',
 *   handlers: { OrderPlaced: async (event) => charge(event.data.orderId, event.data.total) },
 * });
 * await bus.publish(OrderPlaced.create({ orderId: 'o-1', total: 42 }, { subject: 'o-1' }));
 */
export function createBus<const E extends readonly AnyEventDefinition[]>(options: BusOptions<E>): Bus<E> {
  const { catalog, transport } = options;
  const problems: string[] = [];
  if (typeof catalog?.upgrade !== 'function') problems.push('catalog must be made with createCatalog()');
  if (typeof transport?.publish !== 'function' || typeof transport.consume !== 'function') {
    problems.push(
      'transport must implement the Transport contract (e.g. sqliteTransport(), memoryTransport())',
    );
  }
  if (options.retry !== undefined && options.retry !== false)
    problems.push(...retryProblems(options.retry).map((p) => `retry.${p}`));
  if (problems.length > 0) throw invalidOptions('createBus', problems);

  const channel = options.channel ?? 'events';
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? noopMetrics;
  const reportError = options.onError ?? ((error: unknown) => console.error('[tidings] bus error:', error));
  const deadLetters = createDeadLetters(transport.deadLetters, { now: () => clock.now() });
  const subscriptions = new Set<Subscription>();
  const alerted = new Set<string>();
  let closed = false;

  const publish = async (input: EventsOf<E> | readonly EventsOf<E>[]): Promise<void> => {
    if (closed) throw new TidingsError('TIDINGS_CLOSED', 'The bus is closed; create a new one to publish.');
    const events = (Array.isArray(input) ? input : [input]) as readonly Event[];
    if (events.length === 0) return;
    const messages: TransportMessage[] = [];
    for (const event of events) {
      const definition = catalog.get(event?.type);
      if (definition === undefined) {
        throw new TidingsError(
          'TIDINGS_UNKNOWN_TYPE',
          `Cannot publish "${String(event?.type)}": it is not in the catalog. Define it with defineEvent() and add it to createCatalog({ events }).`,
        );
      }
      if (event.version > definition.version) {
        throw new TidingsError(
          'TIDINGS_VERSION_UNSUPPORTED',
          `Cannot publish ${event.type} v${event.version}: the catalog knows up to v${definition.version}.`,
        );
      }
      const message = toTransportMessage(event);
      if (message.body.byteLength > transport.capabilities.maxMessageBytes) {
        throw new TidingsError(
          'TIDINGS_INVALID_OPTIONS',
          `${event.type} ${event.id} is ${message.body.byteLength} bytes; ${transport.name} accepts at most ${transport.capabilities.maxMessageBytes}. Keep payloads small: publish a reference to large data.`,
        );
      }
      messages.push(message);
    }
    await transport.publish(channel, messages);
    for (const message of messages) metrics.increment('tidings_published_total', { type: message.topic });
  };

  const publishFromHandler = (events: Event | readonly Event[]): Promise<void> =>
    publish(events as EventsOf<E> | readonly EventsOf<E>[]);

  const settle = (ctx: MiddlewareContext, outcome: Outcome | undefined): Promise<void> => {
    if (outcome === undefined || outcome.kind === 'skipped' || outcome.kind === 'duplicate') {
      return ctx.delivery.ack();
    }
    return settleFailure(ctx, outcome);
  };

  const settleFailure = async (
    ctx: MiddlewareContext,
    outcome: Exclude<Outcome, { kind: 'skipped' | 'duplicate' }>,
  ): Promise<void> => {
    const { delivery } = ctx;
    if (outcome.kind === 'retry-later') {
      await delivery.nack({
        delayMs: outcome.delayMs,
        tries: ctx.tries,
        failedAt: ctx.firstFailedAt ?? clock.now(),
      });
      metrics.increment('tidings_redeliveries_total', { group: ctx.group, type: ctx.message.topic });
      return;
    }
    const now = clock.now();
    const error = describeError(outcome.error);
    const record: FailureRecord = {
      handler: ctx.handlerName,
      error,
      attempts: delivery.previousTries + ctx.tries,
      firstFailedAt: delivery.firstFailedAt ?? ctx.firstFailedAt ?? now,
      lastFailedAt: now,
      fingerprint: failureFingerprint(error.name, error.message, ctx.handlerName),
      reason: outcome.reason,
    };
    await delivery.deadLetter(record);
    metrics.increment('tidings_dead_lettered_total', {
      group: ctx.group,
      type: ctx.message.topic,
      reason: outcome.reason,
    });
    await afterDeadLetter(ctx, record);
  };

  const afterDeadLetter = async (ctx: MiddlewareContext, record: FailureRecord): Promise<void> => {
    try {
      if (options.onDeadLetter !== undefined) {
        await options.onDeadLetter({
          ...record,
          channel,
          group: ctx.group,
          message: ctx.message,
          deadLetteredAt: record.lastFailedAt,
          type: ctx.message.topic,
          event: ctx.event,
        });
      }
      const alert = options.deadLetterAlert;
      if (alert !== undefined) {
        const depth =
          (await transport.deadLetters.depth()).find((row) => row.group === ctx.group)?.count ?? 0;
        if (depth >= alert.threshold && !alerted.has(ctx.group)) {
          alerted.add(ctx.group);
          await alert.onAlert({ group: ctx.group, depth });
        } else if (depth < alert.threshold) {
          alerted.delete(ctx.group);
        }
      }
    } catch (error) {
      reportError(error);
    }
  };

  const subscribe = async (sub: SubscribeOptions<E>): Promise<Subscription> => {
    if (closed) throw new TidingsError('TIDINGS_CLOSED', 'The bus is closed; create a new one to subscribe.');
    const plan = planSubscription(catalog, transport, sub, options);
    const closing = new AbortController();
    const handlerStep = async (ctx: MiddlewareContext): Promise<void> => {
      const event = ctx.event;
      if (event === undefined) {
        throw new TidingsError(
          'TIDINGS_MALFORMED',
          'No event to handle: the validate middleware did not run.',
        );
      }
      const handler = handlerFor(event);
      if (handler === undefined) {
        ctx.outcome = SKIPPED;
        return;
      }
      ctx.tries += 1;
      // The signal as it is now (the timeout's run, made only if the handler reads it).
      const signal = ctx instanceof DeliveryContext ? ctx.signalSource() : ctx.signal;
      await handler(
        event as EventsOf<E>,
        new StepContext(signal, ctx.group, ctx.delivery.attempt, ctx.publish),
      );
    };
    // The handler for an event, or none when the subscription's filter or handlers skip it.
    const handlerFor = (event: Event): Handler<EventsOf<E>> | undefined =>
      plan.matches(event) ? plan.handlerFor(event.type) : undefined;
    const extra = [...(options.middleware ?? []), ...(sub.middleware ?? [])];
    let pipeline: (ctx: MiddlewareContext) => void | Promise<void>;
    if (extra.length === 0) {
      pipeline = builtInPipeline({
        catalog,
        clock,
        meter: createMeter(metrics),
        afterFailure: plan.retry === false ? undefined : retryAfterFailure(plan.retry),
        timeoutMs: plan.timeoutMs,
        handlerFor: handlerFor as (event: Event) => Handler<Event> | undefined,
      });
    } else {
      const defaults: Middleware[] = [measure(metrics)];
      if (plan.retry !== false) defaults.push(retry(plan.retry));
      defaults.push(validate(catalog), correlation(), timeout(plan.timeoutMs));
      pipeline = compose([...defaults, ...extra], handlerStep);
    }

    // Deliveries in flight, with when each was handed over: one loop renews the leases of those held
    // for a third of the lease, so a fast handler costs no timer at all.
    const inFlight = new Map<Delivery, number>();
    // Aborted when a closing subscription's deadline passes: the signal handlers see (through timeout).
    const deadline = new AbortController();
    setMaxListeners(0, deadline.signal);
    const renewEvery = Math.max(5, Math.floor(plan.leaseMs / 3));
    const shared: SharedContext = {
      group: sub.group,
      handlerName: plan.name,
      signal: deadline.signal,
      closing: closing.signal,
      clock,
      metrics,
      publish: publishFromHandler,
    };
    void (async () => {
      while (!closing.signal.aborted) {
        try {
          await clock.sleep(renewEvery, closing.signal);
        } catch {
          return;
        }
        const due = clock.now() - renewEvery;
        for (const [delivery, since] of inFlight) {
          if (since <= due) delivery.touch().catch(reportError);
        }
      }
    })();

    const onDelivery = async (delivery: Delivery): Promise<void> => {
      const ctx = new DeliveryContext(delivery, shared);
      inFlight.set(delivery, clock.now());
      try {
        if (delivery.attempt > plan.maxDeliveries) {
          const error = new TidingsError(
            'TIDINGS_HANDLER_FAILED',
            `Delivered ${delivery.attempt} times without settling: the handler likely crashes the process. Quarantined.`,
          );
          await settle(ctx, { kind: 'dead-letter', reason: 'crash-loop', error });
          return;
        }
        try {
          // The built-in pipeline finishes a synchronous handler without a promise.
          const pending = pipeline(ctx);
          if (pending !== undefined) await pending;
        } catch (error) {
          // Only a subscription without retry lets a handler error through: it dead-letters at once.
          ctx.firstFailedAt ??= clock.now();
          ctx.outcome = {
            kind: 'dead-letter',
            reason: isRetryable(error) ? 'exhausted' : 'non-retryable',
            error,
          };
        }
        await settle(ctx, ctx.outcome);
      } catch (error) {
        // Settling failed (the broker went away): the lease runs out and the message comes back.
        reportError(error);
      } finally {
        inFlight.delete(delivery);
      }
    };

    let consumer: TransportConsumer;
    try {
      consumer = await transport.consume(
        {
          channel,
          group: sub.group,
          topics: plan.topics,
          concurrency: plan.concurrency,
          ordered: plan.ordered,
          leaseMs: plan.leaseMs,
        },
        onDelivery,
      );
    } catch (error) {
      throw new TidingsError(
        'TIDINGS_UNAVAILABLE',
        `Could not start consumer ${sub.group} on ${transport.name}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    let closedOnce: Promise<void> | undefined;
    const subscription: Subscription = {
      group: sub.group,
      topics: plan.topics,
      close({ timeoutMs = 30_000 } = {}) {
        closedOnce ??= (async () => {
          const reason = new TidingsError('TIDINGS_CLOSED', `Subscription ${sub.group} is closing.`);
          closing.abort(reason);
          await consumer.close({ timeoutMs });
          // Past the deadline: tell handlers still running to stop; their deliveries were released.
          deadline.abort(reason);
          subscriptions.delete(subscription);
        })();
        return closedOnce;
      },
    };
    subscriptions.add(subscription);
    return subscription;
  };

  const bus: Bus<E> = {
    catalog,
    transport,
    deadLetters,
    publish,
    subscribe,
    async close({ timeoutMs } = {}) {
      if (closed) return;
      closed = true;
      await Promise.all(
        [...subscriptions].map((sub) => sub.close(timeoutMs === undefined ? {} : { timeoutMs })),
      );
      await transport.close();
    },
    [Symbol.asyncDispose]: () => bus.close(),
  };
  return bus;
}
