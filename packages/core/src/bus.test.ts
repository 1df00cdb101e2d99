import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { createBus } from './bus.ts';
import { createCatalog } from './catalog.ts';
import { defineEvent, upcaster } from './define-event.ts';
import { createEvent, type Event } from './envelope.ts';
import { isTidingsError, NonRetryableError } from './errors.ts';
import { toTransportMessage } from './message.ts';
import { memoryTransport } from './memory-transport.ts';
import { createMetrics } from './metrics.ts';
import { idempotent } from './middleware/idempotent.ts';
import { createManualClock } from './testing/manual-clock.ts';
import { eventually } from './testing/index.ts';
import type { Transport } from './transport.ts';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 2,
  schema: z.object({ orderId: z.string(), total: z.number(), currency: z.string() }),
  upcasters: {
    1: upcaster(z.object({ orderId: z.string(), total: z.number() }), (v1) => ({ ...v1, currency: 'EUR' })),
  },
});
const PaymentFailed = defineEvent({
  type: 'PaymentFailed',
  schema: z.object({ orderId: z.string(), reason: z.string() }),
});
const OrderShipped = defineEvent({ type: 'OrderShipped', schema: z.object({ orderId: z.string() }) });
const catalog = createCatalog({ events: [OrderPlaced, PaymentFailed, OrderShipped] });

const order = (orderId: string, total = 10) =>
  OrderPlaced.create({ orderId, total, currency: 'EUR' }, { subject: orderId });

function setup(options: { retry?: Parameters<typeof createBus>[0]['retry']; transport?: Transport } = {}) {
  const clock = createManualClock();
  const transport = options.transport ?? memoryTransport({ clock });
  const metrics = createMetrics();
  const deadLettered: string[] = [];
  const alerts: { group: string; depth: number }[] = [];
  const bus = createBus({
    catalog,
    transport,
    clock,
    metrics,
    retry: options.retry ?? { immediate: 1, minDelayMs: 10, maxDelayMs: 10, delays: [1_000], jitter: 0 },
    onDeadLetter: (deadLetter) => {
      deadLettered.push(deadLetter.type);
    },
    deadLetterAlert: { threshold: 2, onAlert: (alert) => void alerts.push(alert) },
    onError: (error) => {
      throw error;
    },
  });
  return { bus, clock, transport, metrics, deadLettered, alerts };
}

function failure(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('createBus', () => {
  test('handlers get validated, upcast, typed events and their publishes join the chain', async () => {
    const { bus, transport } = setup();
    const received: Event[] = [];
    await bus.subscribe({
      group: 'payments',
      handlers: {
        OrderPlaced: async (event, ctx) => {
          received.push(event);
          await ctx.publish(PaymentFailed.create({ orderId: event.data.orderId, reason: 'declined' }));
        },
        PaymentFailed: (event) => void received.push(event),
      },
    });
    const placed = order('o-1');
    await bus.publish(placed);
    // An old producer writes version 1 straight onto the transport.
    await transport.publish('events', [
      toTransportMessage(createEvent('OrderPlaced', 1, { orderId: 'o-2', total: 5 })),
    ]);
    await eventually(() => received.length === 4);
    const failed = received.find(
      (event) => event.type === 'PaymentFailed' && (event.data as { orderId: string }).orderId === 'o-1',
    );
    expect(failed?.correlationId).toBe(placed.id);
    expect(failed?.causationId).toBe(placed.id);
    expect(
      received.find(
        (event) => (event.data as { orderId: string }).orderId === 'o-2' && event.type === 'OrderPlaced',
      ),
    ).toMatchObject({
      version: 2,
      data: { currency: 'EUR' },
    });
    await bus.close();
  });

  test('a failing handler is retried at once, then later, then dead-lettered with its history', async () => {
    const { bus, clock, metrics, deadLettered } = setup();
    let tries = 0;
    await bus.subscribe({
      group: 'shipping',
      name: 'book-parcel',
      handlers: {
        OrderPlaced: () => {
          tries += 1;
          throw new Error(`carrier down for order ${tries}`);
        },
      },
    });
    await bus.publish(order('o-1'));
    await eventually(async () => {
      await clock.advance(10);
      return tries === 2;
    });
    // Immediate retries are used up: the message waits for its delayed redelivery.
    await clock.advance(500);
    expect(tries).toBe(2);
    await eventually(async () => {
      await clock.advance(100);
      return deadLettered.length === 1;
    });
    expect(tries).toBe(4);
    const [deadLetter] = await bus.deadLetters.list({ group: 'shipping' });
    expect(deadLetter).toMatchObject({
      group: 'shipping',
      handler: 'book-parcel',
      type: 'OrderPlaced',
      attempts: 4,
      reason: 'exhausted',
      error: { name: 'Error', message: 'carrier down for order 4' },
      event: { type: 'OrderPlaced', data: { orderId: 'o-1' } },
    });
    expect(deadLetter?.lastFailedAt).toBeGreaterThan(deadLetter?.firstFailedAt ?? Number.POSITIVE_INFINITY);
    expect(
      metrics.value('tidings_dead_lettered_total', {
        group: 'shipping',
        type: 'OrderPlaced',
        reason: 'exhausted',
      }),
    ).toBe(1);
    expect(metrics.value('tidings_redeliveries_total', { group: 'shipping', type: 'OrderPlaced' })).toBe(1);
    await bus.close();
  });

  test('a non-retryable error is dead-lettered on the first try', async () => {
    const { bus, deadLettered } = setup();
    let tries = 0;
    await bus.subscribe({
      group: 'billing',
      handlers: {
        OrderPlaced: () => {
          tries += 1;
          throw new NonRetryableError('customer does not exist');
        },
      },
    });
    await bus.publish(order('o-1'));
    await eventually(() => deadLettered.length === 1);
    expect(tries).toBe(1);
    expect((await bus.deadLetters.list())[0]).toMatchObject({ reason: 'non-retryable', attempts: 1 });
    await bus.close();
  });

  test('a message that is not a valid event is dead-lettered as invalid and the consumer goes on', async () => {
    const { bus, transport, deadLettered } = setup();
    const handled: string[] = [];
    await bus.subscribe({
      group: 'g',
      handlers: { OrderPlaced: (event) => void handled.push(event.data.orderId) },
    });
    await transport.publish('events', [
      { id: 'junk', topic: 'OrderPlaced', headers: { 'ce-id': 'junk' }, body: new TextEncoder().encode('{') },
    ]);
    await transport.publish('events', [
      toTransportMessage(createEvent('OrderPlaced', 2, { orderId: 'o-bad' })),
    ]);
    await bus.publish(order('o-good'));
    await eventually(() => handled.length === 1 && deadLettered.length === 2);
    expect(handled).toEqual(['o-good']);
    const reasons = (await bus.deadLetters.list()).map((deadLetter) => [
      deadLetter.reason,
      deadLetter.error.name,
    ]);
    expect(reasons).toEqual([
      ['invalid', 'TidingsError'],
      ['invalid', 'SchemaInvalidError'],
    ]);
    await bus.close();
  });

  test('a handler that never returns times out and is dead-lettered', async () => {
    const { bus, clock, deadLettered } = setup({ retry: false });
    let started = 0;
    let aborted = false;
    await bus.subscribe({
      group: 'slow',
      timeoutMs: 5_000,
      handlers: {
        OrderPlaced: (_event, ctx) => {
          started += 1;
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
          });
          return new Promise(() => undefined);
        },
      },
    });
    await bus.publish(order('o-1'));
    await eventually(() => started === 1);
    await clock.advance(5_000);
    await eventually(() => deadLettered.length === 1);
    expect(aborted).toBe(true);
    expect((await bus.deadLetters.list())[0]?.error.message).toMatch(/did not finish within 5000 ms/);
    await bus.close({ timeoutMs: 0 });
  });

  test('content filters ack what does not match without running the handler', async () => {
    const { bus, metrics } = setup();
    const handled: string[] = [];
    await bus.subscribe({
      group: 'big-orders',
      events: [OrderPlaced],
      filter: { data: { total: { numeric: { gte: 100 } } } },
      handler: (event) => void handled.push(event.data.orderId),
    });
    await bus.publish([order('small', 5), order('big', 500)]);
    await eventually(
      () =>
        metrics.value('tidings_handled_total', {
          group: 'big-orders',
          type: 'OrderPlaced',
          outcome: 'skipped',
        }) === 1,
    );
    await eventually(() => handled.length === 1);
    expect(handled).toEqual(['big']);
    await bus.close();
  });

  test('wildcard patterns subscribe to every matching catalog type', async () => {
    const { bus } = setup();
    const sub = await bus.subscribe({ group: 'audit', patterns: ['Order*'], handler: () => undefined });
    expect([...sub.topics].sort()).toEqual(['OrderPlaced', 'OrderShipped']);
    await bus.close();
  });

  test('idempotent handlers run once per event, however often it arrives', async () => {
    const { bus, transport } = setup();
    let runs = 0;
    await bus.subscribe({
      group: 'ledger',
      middleware: [idempotent()],
      handlers: { OrderPlaced: () => void (runs += 1) },
    });
    const placed = order('o-1');
    await bus.publish(placed);
    await transport.publish('events', [toTransportMessage(placed)]);
    await bus.publish(order('o-2'));
    await eventually(() => runs === 2);
    await bus.close();
    expect((await transport.deadLetters.list({})).map((d) => d.error.message)).toEqual([]);
    expect(runs).toBe(2);
  });

  test('replaying a dead letter runs the handler again and removes it', async () => {
    const { bus, alerts } = setup({ retry: false });
    let broken = true;
    const shipped: string[] = [];
    await bus.subscribe({
      group: 'shipping',
      handlers: {
        OrderPlaced: (event) => {
          if (broken) throw new Error('carrier down');
          shipped.push(event.data.orderId);
        },
      },
    });
    await bus.publish([order('o-1'), order('o-2')]);
    await eventually(async () => (await bus.deadLetters.list()).length === 2);
    expect(alerts).toEqual([{ group: 'shipping', depth: 2 }]);
    const [group, ...others] = await bus.deadLetters.groups();
    expect(others).toEqual([]);
    expect(group).toMatchObject({ count: 2, errorMessage: 'carrier down', types: ['OrderPlaced'] });
    broken = false;
    expect(await bus.deadLetters.replay({ fingerprint: group?.fingerprint ?? '' })).toEqual({ replayed: 2 });
    await eventually(() => shipped.length === 2);
    expect(await bus.deadLetters.depth()).toEqual([]);
    await bus.close();
  });

  test('bad subscribe options are refused, every problem listed', async () => {
    const { bus } = setup();
    const error = (await bus
      .subscribe({
        group: 'no spaces',
        handlers: { Nope: () => undefined } as never,
        concurrency: 0,
        filter: { colour: 'red' } as never,
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      )) as Error;
    expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    expect(error.message).toMatch(/group must be/);
    expect(error.message).toMatch(/handlers\.Nope/);
    expect(error.message).toMatch(/concurrency/);
    expect(error.message).toMatch(/colour is not filterable/);
    await bus.close();
  });

  test('ordering that the transport cannot keep is refused', async () => {
    const base = memoryTransport();
    const unordered: Transport = {
      ...base,
      name: 'unordered',
      capabilities: { ...base.capabilities, ordering: 'none', delayedDelivery: false },
    };
    const { bus } = setup({ transport: unordered });
    await expect(
      bus.subscribe({ group: 'g', ordered: true, handlers: { OrderPlaced: () => undefined } }),
    ).rejects.toThrow(/does not keep per-subject order/);
    await expect(
      bus.subscribe({ group: 'g', retry: { delays: [1_000] }, handlers: { OrderPlaced: () => undefined } }),
    ).rejects.toThrow(/cannot delay a redelivery/);
    await bus.close();
  });

  test('publishing an event outside the catalog is refused', async () => {
    const { bus } = setup();
    const stray = createEvent('OrderTeleported', 1, {});
    await expect(bus.publish(stray as never)).rejects.toThrow(/not in the catalog/);
    await bus.close();
    await expect(bus.publish(order('o-1'))).rejects.toSatisfy((error) =>
      isTidingsError(error, 'TIDINGS_CLOSED'),
    );
  });

  test('createBus refuses a missing catalog or transport', () => {
    const error = failure(() => createBus({ catalog: undefined as never, transport: {} as never }));
    expect(error.message).toMatch(/catalog must be.*transport must implement/);
  });
});
