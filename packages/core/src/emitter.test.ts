import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createCatalog } from './catalog.ts';
import { defineEvent } from './define-event.ts';
import { createEmitter } from './emitter.ts';
import type { ListenerErrorInfo } from './emitter-types.ts';
import type { Event } from './envelope.ts';
import { isTidingsError } from './errors.ts';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number() }),
});
const PaymentRequested = defineEvent({
  type: 'PaymentRequested',
  schema: z.object({ orderId: z.string(), amount: z.number() }),
});
const catalog = createCatalog({ events: [OrderPlaced, PaymentRequested] });

type Shop = { placed: { orderId: string }; shipped: { orderId: string } };

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every already-queued promise reaction run. */
const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('emit', () => {
  it('calls listeners in registration order, then wildcard listeners in theirs', () => {
    const emitter = createEmitter<Shop>();
    const calls: string[] = [];
    emitter.on('*', () => calls.push('wildcard 1'));
    emitter.on('placed', () => calls.push('typed 1'));
    emitter.on('*', () => calls.push('wildcard 2'));
    emitter.on('placed', () => calls.push('typed 2'));
    emitter.emit('placed', { orderId: 'o-1' });
    expect(calls).toEqual(['typed 1', 'typed 2', 'wildcard 1', 'wildcard 2']);
  });

  it('returns true when the type had listeners and false when it had none', () => {
    const emitter = createEmitter<Shop>();
    emitter.on('placed', () => {});
    expect(emitter.emit('placed', { orderId: 'o-1' })).toBe(true);
    expect(emitter.emit('shipped', { orderId: 'o-1' })).toBe(false);
  });

  it('a throwing listener does not stop the next one, and emit does not throw', () => {
    const errors: [unknown, ListenerErrorInfo][] = [];
    const emitter = createEmitter<Shop>({ onError: (error, info) => errors.push([error, info]) });
    const boom = new Error('boom');
    const failing = (): void => {
      throw boom;
    };
    const seen: string[] = [];
    emitter.on('placed', failing);
    emitter.on('placed', (payload) => seen.push(payload.orderId));
    expect(emitter.emit('placed', { orderId: 'o-1' })).toBe(true);
    expect(seen).toEqual(['o-1']);
    expect(errors).toEqual([[boom, { type: 'placed', payload: { orderId: 'o-1' }, listener: failing }]]);
  });

  it('routes the rejection of a promise a listener returns to onError', async () => {
    const onError = vi.fn();
    const emitter = createEmitter<Shop>({ onError });
    const boom = new Error('later');
    emitter.on('placed', async () => {
      await Promise.resolve();
      throw boom;
    });
    emitter.emit('placed', { orderId: 'o-1' });
    expect(onError).not.toHaveBeenCalled();
    await drain();
    expect(onError).toHaveBeenCalledWith(boom, expect.objectContaining({ type: 'placed' }));
  });

  it('ignores an onError that throws', () => {
    const emitter = createEmitter<Shop>({
      onError: () => {
        throw new Error('handler broke');
      },
    });
    const seen: string[] = [];
    emitter.on('placed', () => {
      throw new Error('boom');
    });
    emitter.on('placed', (payload) => seen.push(payload.orderId));
    expect(() => emitter.emit('placed', { orderId: 'o-1' })).not.toThrow();
    expect(seen).toEqual(['o-1']);
  });

  it('logs listener errors with their type through console.error by default', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const emitter = createEmitter<Shop>();
    const boom = new Error('boom');
    emitter.on('shipped', () => {
      throw boom;
    });
    emitter.emit('shipped', { orderId: 'o-1' });
    expect(log).toHaveBeenCalledWith(expect.stringContaining('"shipped"'), boom);
  });

  it('does not call a listener that an earlier listener removed during the same emit', () => {
    const emitter = createEmitter<Shop>();
    const seen: string[] = [];
    const second = (): void => {
      seen.push('second');
    };
    emitter.on('placed', () => emitter.off('placed', second));
    emitter.on('placed', second);
    emitter.emit('placed', { orderId: 'o-1' });
    expect(seen).toEqual([]);
  });

  it('calls a listener added during an emit from the next emit on', () => {
    const emitter = createEmitter<Shop>();
    const seen: string[] = [];
    emitter.on('placed', (payload) => {
      emitter.on('placed', (again) => seen.push(`late ${again.orderId}`));
      seen.push(`first ${payload.orderId}`);
    });
    emitter.emit('placed', { orderId: 'o-1' });
    expect(seen).toEqual(['first o-1']);
  });
});

describe('on, once and off', () => {
  it('once runs exactly once, even when its listener emits again', () => {
    const emitter = createEmitter<Shop>();
    let calls = 0;
    emitter.once('placed', () => {
      calls += 1;
      emitter.emit('placed', { orderId: 'nested' });
    });
    emitter.emit('placed', { orderId: 'o-1' });
    emitter.emit('placed', { orderId: 'o-2' });
    expect(calls).toBe(1);
    expect(emitter.listenerCount('placed')).toBe(0);
  });

  it('off removes the earliest registration and says whether there was one', () => {
    const emitter = createEmitter<Shop>();
    let calls = 0;
    const listener = (): void => {
      calls += 1;
    };
    emitter.on('placed', listener);
    emitter.on('placed', listener);
    expect(emitter.off('placed', listener)).toBe(true);
    emitter.emit('placed', { orderId: 'o-1' });
    expect(calls).toBe(1);
    expect(emitter.off('placed', listener)).toBe(true);
    expect(emitter.off('placed', listener)).toBe(false);
    expect(emitter.emit('placed', { orderId: 'o-2' })).toBe(false);
  });

  it('the returned function removes the listener', () => {
    const emitter = createEmitter<Shop>();
    let calls = 0;
    const unsubscribe = emitter.on('placed', () => {
      calls += 1;
    });
    unsubscribe();
    unsubscribe();
    emitter.emit('placed', { orderId: 'o-1' });
    expect(calls).toBe(0);
  });

  it('abort signal removes the listener', () => {
    const emitter = createEmitter<Shop>();
    const controller = new AbortController();
    let calls = 0;
    emitter.on('placed', () => (calls += 1), { signal: controller.signal });
    emitter.emit('placed', { orderId: 'o-1' });
    controller.abort();
    emitter.emit('placed', { orderId: 'o-2' });
    expect(calls).toBe(1);
    expect(emitter.listenerCount()).toBe(0);
  });

  it('an already-aborted signal never adds the listener', () => {
    const emitter = createEmitter<Shop>();
    let calls = 0;
    emitter.on('placed', () => (calls += 1), { signal: AbortSignal.abort() });
    emitter.emit('placed', { orderId: 'o-1' });
    expect(calls).toBe(0);
    expect(emitter.listenerCount('placed')).toBe(0);
  });

  it('using disposes the listener at the end of the block', () => {
    const emitter = createEmitter<Shop>();
    let calls = 0;
    {
      using _listening = emitter.on('placed', () => (calls += 1));
      emitter.emit('placed', { orderId: 'o-1' });
      expect(emitter.listenerCount('placed')).toBe(1);
    }
    emitter.emit('placed', { orderId: 'o-2' });
    expect(calls).toBe(1);
    expect(emitter.listenerCount('placed')).toBe(0);
  });

  it('a wildcard listener receives every payload with its type', () => {
    const emitter = createEmitter<Shop>();
    const seen: [unknown, string][] = [];
    const off = emitter.on('*', (payload, type) => seen.push([payload, type]));
    emitter.emit('placed', { orderId: 'o-1' });
    emitter.emit('shipped', { orderId: 'o-1' });
    off();
    emitter.emit('shipped', { orderId: 'o-2' });
    expect(seen).toEqual([
      [{ orderId: 'o-1' }, 'placed'],
      [{ orderId: 'o-1' }, 'shipped'],
    ]);
  });

  it('listenerCount counts one type, the wildcards, or everything', () => {
    const emitter = createEmitter<Shop>();
    emitter.on('placed', () => {});
    emitter.on('placed', () => {});
    emitter.on('shipped', () => {});
    emitter.on('*', () => {});
    expect(emitter.listenerCount('placed')).toBe(2);
    expect(emitter.listenerCount('shipped')).toBe(1);
    expect(emitter.listenerCount('*')).toBe(1);
    expect(emitter.listenerCount()).toBe(4);
  });

  it('keeps event names that Object.prototype also has apart from it', () => {
    const emitter = createEmitter();
    const seen: unknown[] = [];
    expect(emitter.emit('constructor', 1)).toBe(false);
    emitter.on('__proto__', (payload) => seen.push(payload));
    emitter.on('toString', (payload) => seen.push(payload));
    emitter.emit('__proto__', 'a');
    emitter.emit('toString', 'b');
    expect(seen).toEqual(['a', 'b']);
    expect(emitter.listenerCount()).toBe(2);
  });

  it('refuses a listener that is not a function', () => {
    const emitter = createEmitter<Shop>();
    expect(() => emitter.on('placed', 'nope' as never)).toThrow(/listener must be a function/);
  });
});

describe('emitAsync', () => {
  it('emitAsync resolves with every failure, in call order, and reports each to onError', async () => {
    const onError = vi.fn();
    const emitter = createEmitter<Shop>({ onError });
    const thrown = new Error('thrown');
    const rejected = new Error('rejected');
    const throwing = (): void => {
      throw thrown;
    };
    const rejecting = async (): Promise<void> => {
      await Promise.resolve();
      throw rejected;
    };
    emitter.on('placed', rejecting);
    emitter.on('placed', async () => {});
    emitter.on('placed', throwing);
    const result = await emitter.emitAsync('placed', { orderId: 'o-1' });
    expect(result.listeners).toBe(3);
    const expected = [
      { error: rejected, listener: rejecting, type: 'placed' },
      { error: thrown, listener: throwing, type: 'placed' },
    ];
    expect(result.failures).toEqual(expected);
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('resolves with a frozen result without failures when every listener succeeds', async () => {
    const emitter = createEmitter<Shop>();
    emitter.on('placed', async () => {});
    const result = await emitter.emitAsync('placed', { orderId: 'o-1' });
    expect(result).toEqual({ listeners: 1, failures: [] });
    expect(Object.isFrozen(result) && Object.isFrozen(result.failures)).toBe(true);
    await expect(emitter.emitAsync('shipped', { orderId: 'o-1' })).resolves.toEqual({
      listeners: 0,
      failures: [],
    });
  });

  it('waits for every listener, and starts them all at once by default', async () => {
    const emitter = createEmitter<Shop>();
    const first = deferred();
    const second = deferred();
    const steps: string[] = [];
    emitter.on('placed', async () => {
      steps.push('first started');
      await first.promise;
      steps.push('first done');
    });
    emitter.on('placed', async () => {
      steps.push('second started');
      await second.promise;
      steps.push('second done');
    });
    let settled = false;
    const done = emitter.emitAsync('placed', { orderId: 'o-1' }).then(() => (settled = true));
    expect(steps).toEqual(['first started', 'second started']);
    second.resolve();
    await drain();
    expect(settled).toBe(false);
    first.resolve();
    await done;
    expect(steps).toEqual(['first started', 'second started', 'second done', 'first done']);
  });

  it('runs listeners one after another when serial', async () => {
    const emitter = createEmitter<Shop>({ serial: true });
    const first = deferred();
    const steps: string[] = [];
    emitter.on('placed', async () => {
      steps.push('first started');
      await first.promise;
      steps.push('first done');
    });
    emitter.on('*', () => {
      steps.push('wildcard');
    });
    const done = emitter.emitAsync('placed', { orderId: 'o-1' });
    await drain();
    expect(steps).toEqual(['first started']);
    first.resolve();
    await expect(done).resolves.toEqual({ listeners: 2, failures: [] });
    expect(steps).toEqual(['first started', 'first done', 'wildcard']);
  });

  it('lets one call choose serial or parallel over the default', async () => {
    const emitter = createEmitter<Shop>({ serial: true });
    const gate = deferred();
    const steps: string[] = [];
    emitter.on('placed', async () => {
      steps.push('first started');
      await gate.promise;
    });
    emitter.on('placed', () => {
      steps.push('second started');
    });
    const done = emitter.emitAsync('placed', { orderId: 'o-1' }, { serial: false });
    expect(steps).toEqual(['first started', 'second started']);
    gate.resolve();
    await done;
  });

  it('records a failure of a serial listener and goes on with the next', async () => {
    const emitter = createEmitter<Shop>({ onError: () => {} });
    const boom = new Error('boom');
    const steps: string[] = [];
    emitter.on('placed', async () => {
      await Promise.resolve();
      throw boom;
    });
    emitter.on('placed', () => {
      steps.push('second');
    });
    const result = await emitter.emitAsync('placed', { orderId: 'o-1' }, { serial: true });
    expect(steps).toEqual(['second']);
    expect(result.failures.map((failure) => failure.error)).toEqual([boom]);
  });
});

describe('events()', () => {
  it('events() yields in order and stops on abort', async () => {
    const emitter = createEmitter<Shop>();
    const controller = new AbortController();
    const iterator = emitter.events('placed', { signal: controller.signal });
    emitter.emit('placed', { orderId: 'o-1' });
    emitter.emit('placed', { orderId: 'o-2' });
    expect(await iterator.next()).toEqual({ done: false, value: { orderId: 'o-1' } });
    expect(await iterator.next()).toEqual({ done: false, value: { orderId: 'o-2' } });
    const waiting = iterator.next();
    emitter.emit('placed', { orderId: 'o-3' });
    expect(await waiting).toEqual({ done: false, value: { orderId: 'o-3' } });
    const pending = iterator.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(emitter.listenerCount('placed')).toBe(0);
    emitter.emit('placed', { orderId: 'o-4' });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('ends when for await breaks, removing its listener', async () => {
    const emitter = createEmitter<Shop>();
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const payload of emitter.events('placed')) {
        seen.push(payload.orderId);
        if (seen.length === 2) break;
      }
    })();
    emitter.emit('placed', { orderId: 'o-1' });
    emitter.emit('placed', { orderId: 'o-2' });
    await iterating;
    expect(seen).toEqual(['o-1', 'o-2']);
    expect(emitter.listenerCount('placed')).toBe(0);
  });

  it('ends at once when its signal is already aborted', async () => {
    const emitter = createEmitter<Shop>();
    const iterator = emitter.events('placed', { signal: AbortSignal.abort() });
    emitter.emit('placed', { orderId: 'o-1' });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(emitter.listenerCount()).toBe(0);
  });
});

describe('a catalog emitter', () => {
  it('emits an event to the listeners of its type', () => {
    const emitter = createEmitter(catalog);
    const totals: number[] = [];
    emitter.on('OrderPlaced', (event) => totals.push(event.data.total));
    emitter.on('PaymentRequested', () => totals.push(-1));
    expect(emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 42 }))).toBe(true);
    expect(emitter.emit('OrderPlaced', OrderPlaced.create({ orderId: 'o-2', total: 7 }))).toBe(true);
    expect(totals).toEqual([42, 7]);
  });

  it('refuses a listener of a type the catalog does not know', () => {
    const emitter = createEmitter(catalog);
    let caught: unknown;
    try {
      emitter.on('OrderShipped' as 'OrderPlaced', () => {});
    } catch (error) {
      caught = error;
    }
    expect(isTidingsError(caught, 'TIDINGS_UNKNOWN_TYPE')).toBe(true);
    expect((caught as Error).message).toContain('OrderPlaced, PaymentRequested');
  });

  it('refuses invalid options, listing every problem', () => {
    expect(() => createEmitter(catalog, { onError: 'log' as never, serial: 'yes' as never })).toThrow(
      /2 problems.*onError must be a function.*serial must be true or false/,
    );
  });
});

describe('correlation', () => {
  it('correlates events created by a sync listener to the event being handled', () => {
    const emitter = createEmitter(catalog);
    const created: Event[] = [];
    emitter.on('OrderPlaced', (event) => {
      created.push(PaymentRequested.create({ orderId: event.data.orderId, amount: event.data.total }));
    });
    const root = OrderPlaced.create({ orderId: 'o-1', total: 42 });
    emitter.emit(root);
    expect(root.correlationId).toBe(root.id);
    expect(created[0]).toMatchObject({ correlationId: root.id, causationId: root.id });
    expect(PaymentRequested.create({ orderId: 'o-2', amount: 1 }).causationId).toBeUndefined();
  });

  it('correlates events an async listener creates after an await', async () => {
    const emitter = createEmitter(catalog);
    const created: Event[] = [];
    emitter.on('OrderPlaced', async (event) => {
      await Promise.resolve();
      created.push(PaymentRequested.create({ orderId: event.data.orderId, amount: event.data.total }));
    });
    const root = OrderPlaced.create({ orderId: 'o-1', total: 42 });
    await emitter.emitAsync(root);
    expect(created[0]).toMatchObject({ correlationId: root.id, causationId: root.id });
  });

  it('correlates a sync listener that runs after an async one', () => {
    const emitter = createEmitter(catalog);
    const created: Event[] = [];
    emitter.on('OrderPlaced', async () => {});
    emitter.on('OrderPlaced', (event) => {
      created.push(PaymentRequested.create({ orderId: event.data.orderId, amount: 1 }));
    });
    const root = OrderPlaced.create({ orderId: 'o-1', total: 42 });
    emitter.emit(root);
    expect(created[0]).toMatchObject({ correlationId: root.id, causationId: root.id });
  });

  it('chains correlation through events emitted by listeners', async () => {
    const emitter = createEmitter(catalog);
    const chain: Event[] = [];
    emitter.on('OrderPlaced', (event) => {
      emitter.emit(PaymentRequested.create({ orderId: event.data.orderId, amount: event.data.total }));
    });
    emitter.on('PaymentRequested', async (event) => {
      await Promise.resolve();
      chain.push(event, OrderPlaced.create({ orderId: 'o-follow-up', total: 0 }));
    });
    const root = OrderPlaced.create({ orderId: 'o-1', total: 42 });
    emitter.emit(root);
    await drain();
    const [payment, followUp] = chain;
    expect(payment).toMatchObject({ correlationId: root.id, causationId: root.id });
    expect(followUp).toMatchObject({ correlationId: root.id, causationId: payment?.id });
  });

  it('keeps the cause for an async listener of a plain payload emitted while handling an event', async () => {
    const events = createEmitter(catalog);
    const plain = createEmitter<{ audit: string }>();
    const created: Event[] = [];
    plain.on('audit', async (orderId) => {
      await Promise.resolve();
      created.push(PaymentRequested.create({ orderId, amount: 1 }));
    });
    events.on('OrderPlaced', (event) => {
      plain.emit('audit', event.data.orderId);
    });
    const root = OrderPlaced.create({ orderId: 'o-1', total: 42 });
    events.emit(root);
    await drain();
    expect(created[0]).toMatchObject({ correlationId: root.id, causationId: root.id });
  });
});
