import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { createBus, type HandlerContext } from './bus.ts';
import { createCatalog } from './catalog.ts';
import { defineEvent, upcaster } from './define-event.ts';
import { createEvent, type Event } from './envelope.ts';
import { isTidingsError } from './errors.ts';
import { toTransportMessage } from './message.ts';
import { memoryTransport } from './memory-transport.ts';
import { createMetrics } from './metrics.ts';
import type { Middleware } from './middleware/types.ts';
import { createManualClock } from './testing/manual-clock.ts';
import { eventually } from './testing/index.ts';

// The bus runs subscriptions without middleware of their own through a fused pipeline, and those with
// middleware through the composed one: every promise is checked on both.

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 2,
  schema: z.object({
    orderId: z.string(),
    lines: z.array(z.object({ sku: z.string() })),
    currency: z.string(),
  }),
  upcasters: {
    1: upcaster(z.object({ orderId: z.string(), lines: z.array(z.object({ sku: z.string() })) }), (v1) => ({
      ...v1,
      currency: 'EUR',
    })),
  },
});
const PaymentRequested = defineEvent({ type: 'PaymentRequested', schema: z.object({ orderId: z.string() }) });
const catalog = createCatalog({ events: [OrderPlaced, PaymentRequested] });

const order = (orderId: string) =>
  OrderPlaced.create({ orderId, lines: [{ sku: 'a' }], currency: 'EUR' }, { subject: orderId });

const passThrough: Middleware = (_ctx, next) => next();

const pipelines = [
  ['built-in pipeline (no middleware)', []],
  ['composed pipeline (a pass-through middleware)', [passThrough]],
] as const;

function setup(options: { retry?: false; timeoutMs?: number } = {}) {
  const clock = createManualClock();
  const transport = memoryTransport({ clock });
  const metrics = createMetrics();
  const bus = createBus({
    catalog,
    transport,
    clock,
    metrics,
    retry: options.retry ?? { immediate: 1, minDelayMs: 10, maxDelayMs: 10, delays: [1_000], jitter: 0 },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    onError: (error) => {
      throw error;
    },
  });
  return { bus, clock, transport, metrics };
}

const isDeeplyFrozen = (value: unknown): boolean =>
  typeof value !== 'object' ||
  value === null ||
  (Object.isFrozen(value) && Object.values(value).every(isDeeplyFrozen));

describe.each(pipelines)('the bus through the %s', (_name, middleware) => {
  test('hands over deeply frozen, upcast events whose handlers create correlated events after awaits', async () => {
    const { bus, transport } = setup();
    const seen: { event: Event; group: string; attempt: number }[] = [];
    const created: Event[] = [];
    await bus.subscribe({
      group: 'payments',
      middleware,
      handlers: {
        OrderPlaced: async (event, ctx) => {
          seen.push({ event, group: ctx.group, attempt: ctx.attempt });
          await Promise.resolve();
          created.push(PaymentRequested.create({ orderId: event.data.orderId }));
          await new Promise((resolve) => setImmediate(resolve));
          created.push(PaymentRequested.create({ orderId: event.data.orderId }));
        },
      },
    });
    // An old producer writes version 1 straight onto the transport.
    const old = createEvent('OrderPlaced', 1, { orderId: 'o-1', lines: [{ sku: 'a' }] }, { subject: 'o-1' });
    await transport.publish('events', [toTransportMessage(old)]);
    await eventually(() => created.length === 2);
    const [first] = seen;
    expect(first).toMatchObject({ group: 'payments', attempt: 1 });
    expect(first?.event).toMatchObject({ id: old.id, version: 2, data: { currency: 'EUR' } });
    expect(isDeeplyFrozen(first?.event)).toBe(true);
    for (const event of created) {
      expect(event.correlationId).toBe(old.correlationId);
      expect(event.causationId).toBe(old.id);
    }
    // Outside the handler, events are roots again.
    const later = PaymentRequested.create({ orderId: 'o-1' });
    expect(later.causationId).toBeUndefined();
    await bus.close();
  });

  test('a handler that reads its signal only after timing out finds it aborted by the timeout', async () => {
    const { bus, clock, metrics } = setup({ retry: false, timeoutMs: 1_000 });
    let context: HandlerContext | undefined;
    await bus.subscribe({
      group: 'slow',
      middleware,
      handlers: {
        OrderPlaced: (_event, ctx) => {
          context = ctx;
          return new Promise(() => undefined);
        },
      },
    });
    await bus.publish(order('o-1'));
    await eventually(() => context !== undefined);
    await clock.advance(1_000);
    await eventually(
      () =>
        metrics.value('tidings_dead_lettered_total', {
          group: 'slow',
          type: 'OrderPlaced',
          reason: 'exhausted',
        }) === 1,
    );
    expect(context?.signal.aborted).toBe(true);
    expect(isTidingsError(context?.signal.reason, 'TIDINGS_TIMEOUT')).toBe(true);
    await bus.close({ timeoutMs: 0 });
  });

  test('a handler still running when the close deadline passes sees its signal abort', async () => {
    const { bus } = setup();
    let signal: AbortSignal | undefined;
    await bus.subscribe({
      group: 'stuck',
      middleware,
      handlers: {
        OrderPlaced: (_event, ctx) => {
          signal = ctx.signal;
          return new Promise(() => undefined);
        },
      },
    });
    await bus.publish(order('o-1'));
    await eventually(() => signal !== undefined);
    expect(signal?.aborted).toBe(false);
    await bus.close({ timeoutMs: 0 });
    expect(signal?.aborted).toBe(true);
    expect(isTidingsError(signal?.reason, 'TIDINGS_CLOSED')).toBe(true);
  });

  test('counts synchronous, asynchronous and thenable handlers as acked, with nothing left in flight', async () => {
    const { bus, metrics } = setup();
    const handled: string[] = [];
    await bus.subscribe({
      group: 'counting',
      middleware,
      handlers: {
        OrderPlaced: (event) => {
          handled.push(event.data.orderId);
          if (event.data.orderId === 'async') return Promise.resolve();
          if (event.data.orderId === 'thenable') {
            return { then: (resolve: () => void) => setImmediate(resolve) };
          }
          return undefined;
        },
      },
    });
    await bus.publish([order('sync'), order('async'), order('thenable')]);
    const acked = () =>
      metrics.value('tidings_handled_total', { group: 'counting', type: 'OrderPlaced', outcome: 'ack' });
    await eventually(() => acked() === 3);
    expect(handled.sort()).toEqual(['async', 'sync', 'thenable']);
    expect(metrics.value('tidings_in_flight', { group: 'counting' })).toBe(0);
    await bus.close();
  });

  test('a failing try is retried on the same delivery, then acked', async () => {
    const { bus, clock, metrics } = setup();
    let tries = 0;
    await bus.subscribe({
      group: 'flaky',
      middleware,
      handlers: {
        OrderPlaced: async () => {
          tries += 1;
          await Promise.resolve();
          if (tries === 1) throw new Error('first try fails');
        },
      },
    });
    await bus.publish(order('o-1'));
    await eventually(async () => {
      await clock.advance(10);
      return (
        metrics.value('tidings_handled_total', { group: 'flaky', type: 'OrderPlaced', outcome: 'ack' }) === 1
      );
    });
    expect(tries).toBe(2);
    await bus.close();
  });

  test('without retry a synchronous throw is dead-lettered at once and counted as an error', async () => {
    const { bus, metrics } = setup({ retry: false });
    let tries = 0;
    await bus.subscribe({
      group: 'strict',
      middleware,
      handlers: {
        OrderPlaced: () => {
          tries += 1;
          throw new Error('no');
        },
      },
    });
    await bus.publish(order('o-1'));
    await eventually(
      () =>
        metrics.value('tidings_handled_total', { group: 'strict', type: 'OrderPlaced', outcome: 'error' }) ===
        1,
    );
    await eventually(async () => (await bus.deadLetters.list({ group: 'strict' })).length === 1);
    expect(tries).toBe(1);
    expect((await bus.deadLetters.list({ group: 'strict' }))[0]).toMatchObject({ reason: 'exhausted' });
    await bus.close();
  });
});
