// Runs the examples of docs/emitter.md, as they are written there, and checks what the guide says they do.
import { createCatalog, createEmitter, defineEvent, type Event } from '@tidings/core';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

// ## Define the events once
const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number() }),
});
const PaymentFailed = defineEvent({
  type: 'PaymentFailed',
  schema: z.object({ orderId: z.string(), reason: z.string() }),
});
const catalog = createCatalog({ events: [OrderPlaced, PaymentFailed] });

describe('docs/emitter.md', () => {
  it('listens with on, once, off and the wildcard', () => {
    const emitter = createEmitter(catalog);
    const revenue: number[] = [];
    const alerts: string[] = [];
    const audit: string[] = [];

    emitter.on('OrderPlaced', (event) => {
      revenue.push(event.data.total); // event.data is { orderId: string; total: number }
    });
    emitter.once('PaymentFailed', (event) => {
      alerts.push(`${event.data.orderId}: ${event.data.reason}`);
    });
    emitter.on('*', (event, type) => {
      audit.push(`${type} ${event.id}`);
    });

    emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));
    emitter.emit(PaymentFailed.create({ orderId: 'o-1', reason: 'card declined' }));
    emitter.emit(PaymentFailed.create({ orderId: 'o-2', reason: 'card expired' })); // once: not alerted

    expect(revenue).toEqual([42]);
    expect(alerts).toEqual(['o-1: card declined']);
    expect(audit).toHaveLength(3);
    expect(audit[0]).toMatch(/^OrderPlaced /);
  });

  it('removes a listener with off or with the function on returns', () => {
    const emitter = createEmitter(catalog);
    const calls: string[] = [];
    const countOrder = (): void => {
      calls.push('counted');
    };

    emitter.on('OrderPlaced', countOrder);
    emitter.off('OrderPlaced', countOrder);

    const stop = emitter.on('OrderPlaced', () => calls.push('logged'));
    emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));
    stop();
    emitter.emit(OrderPlaced.create({ orderId: 'o-2', total: 7 }));

    expect(calls).toEqual(['logged']);
  });

  it('runs listeners in order, then the wildcard ones', () => {
    const emitter = createEmitter(catalog);
    const order: string[] = [];

    emitter.on('*', () => order.push('wildcard'));
    emitter.on('OrderPlaced', () => order.push('first'));
    emitter.on('OrderPlaced', () => order.push('second'));
    emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));

    expect(order).toEqual(['first', 'second', 'wildcard']);
  });

  it('returns from emit before an async listener finishes; emitAsync waits', async () => {
    const emitter = createEmitter(catalog);
    const steps: string[] = [];

    emitter.on('OrderPlaced', async (event) => {
      steps.push(`charging ${event.data.orderId}`);
      await Promise.resolve(); // e.g. await payments.charge(event.data)
      steps.push(`charged ${event.data.orderId}`);
    });

    emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));
    steps.push('emit returned');
    await emitter.emitAsync(OrderPlaced.create({ orderId: 'o-2', total: 7 }));
    steps.push('emitAsync resolved');

    expect(steps).toEqual([
      'charging o-1',
      'emit returned',
      'charging o-2',
      'charged o-1',
      'charged o-2',
      'emitAsync resolved',
    ]);
  });

  it('isolates a failing listener and reports it to onError', () => {
    const reported: string[] = [];
    const emitter = createEmitter(catalog, {
      onError: (error, { type }) => reported.push(`${type}: ${(error as Error).message}`),
    });
    const shipped: string[] = [];

    emitter.on('OrderPlaced', () => {
      throw new Error('warehouse offline');
    });
    emitter.on('OrderPlaced', (event) => {
      shipped.push(event.data.orderId);
    });
    const delivered = emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));

    expect(delivered).toBe(true);
    expect(shipped).toEqual(['o-1']);
    expect(reported).toEqual(['OrderPlaced: warehouse offline']);
  });

  it('logs failures with console.error when there is no onError', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const emitter = createEmitter(catalog);
    emitter.on('OrderPlaced', () => {
      throw new Error('warehouse offline');
    });
    emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));
    expect(log).toHaveBeenCalledWith(expect.stringContaining('"OrderPlaced"'), expect.any(Error));
    log.mockRestore();
  });

  it('resolves emitAsync with what happened', async () => {
    const emitter = createEmitter(catalog, { onError: () => {} });

    emitter.on('OrderPlaced', async () => {
      await Promise.resolve();
    });
    emitter.on('OrderPlaced', (event) => {
      if (event.data.total > 1_000) throw new Error('needs a manual review');
    });

    const result = await emitter.emitAsync(OrderPlaced.create({ orderId: 'o-9', total: 5_000 }));
    // { listeners: 2, failures: [{ error: Error('needs a manual review'), listener, type: 'OrderPlaced' }] }

    expect(result.listeners).toBe(2);
    expect(result.failures.map((failure) => [failure.type, (failure.error as Error).message])).toEqual([
      ['OrderPlaced', 'needs a manual review'],
    ]);
  });

  it('runs listeners one after another with serial', async () => {
    const emitter = createEmitter(catalog);
    const steps: string[] = [];

    emitter.on('OrderPlaced', async () => {
      steps.push('reserve stock: start');
      await Promise.resolve();
      steps.push('reserve stock: done');
    });
    emitter.on('OrderPlaced', () => {
      steps.push('send confirmation');
    });
    await emitter.emitAsync(OrderPlaced.create({ orderId: 'o-1', total: 42 }), { serial: true });

    expect(steps).toEqual(['reserve stock: start', 'reserve stock: done', 'send confirmation']);
  });

  it('iterates events until aborted', async () => {
    const emitter = createEmitter(catalog);
    const controller = new AbortController();
    const totals: number[] = [];

    const consuming = (async () => {
      for await (const event of emitter.events('OrderPlaced', { signal: controller.signal })) {
        totals.push(event.data.total);
        if (totals.length === 2) controller.abort();
      }
    })();
    emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));
    emitter.emit(OrderPlaced.create({ orderId: 'o-2', total: 7 }));
    emitter.emit(OrderPlaced.create({ orderId: 'o-3', total: 1 }));
    await consuming;

    expect(totals).toEqual([42, 7]);
    expect(emitter.listenerCount('OrderPlaced')).toBe(0);
  });

  it('disposes listeners with using and with a signal', () => {
    const emitter = createEmitter(catalog);
    const seen: string[] = [];

    {
      using _listening = emitter.on('OrderPlaced', (event) => seen.push(event.data.orderId));
      emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }));
    } // removed here
    emitter.emit(OrderPlaced.create({ orderId: 'o-2', total: 7 }));

    const shutdown = new AbortController();
    emitter.on('OrderPlaced', (event) => seen.push(event.data.orderId), { signal: shutdown.signal });
    shutdown.abort(); // removed here
    emitter.emit(OrderPlaced.create({ orderId: 'o-3', total: 1 }));

    expect(seen).toEqual(['o-1']);
    expect(emitter.listenerCount()).toBe(0);
  });

  it('correlates the events listeners create', async () => {
    const emitter = createEmitter(catalog);
    const created: Event[] = [];

    emitter.on('OrderPlaced', async (event) => {
      await Promise.resolve(); // e.g. await payments.charge(event.data)
      const failed = PaymentFailed.create({ orderId: event.data.orderId, reason: 'card declined' });
      created.push(failed);
    });

    const placed = OrderPlaced.create({ orderId: 'o-1', total: 42 });
    await emitter.emitAsync(placed);
    const [failed] = created;
    // placed.correlationId === placed.id                 (it starts the chain)
    // failed.correlationId === placed.id, failed.causationId === placed.id

    expect(placed.correlationId).toBe(placed.id);
    expect(failed?.correlationId).toBe(placed.id);
    expect(failed?.causationId).toBe(placed.id);
  });

  it('works with a plain event map', () => {
    type CacheEvents = {
      hit: { key: string };
      miss: { key: string; loadMs: number };
    };
    const cache = createEmitter<CacheEvents>();
    const slow: string[] = [];

    cache.on('miss', ({ key, loadMs }) => {
      if (loadMs > 100) slow.push(key);
    });
    cache.emit('miss', { key: 'user:1', loadMs: 250 });
    cache.emit('hit', { key: 'user:1' });

    expect(slow).toEqual(['user:1']);
  });
});
