import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createCatalog } from './catalog.ts';
import { defineEvent } from './define-event.ts';
import { createEmitter } from './emitter.ts';
import type { EmitResult, Unsubscribe } from './emitter-types.ts';
import type { Event } from './envelope.ts';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number() }),
});
const PaymentFailed = defineEvent({
  type: 'PaymentFailed',
  schema: z.object({ orderId: z.string(), reason: z.string() }),
});
const catalog = createCatalog({ events: [OrderPlaced, PaymentFailed] });

describe('a catalog emitter', () => {
  const emitter = createEmitter(catalog);

  it('gives a listener of OrderPlaced its typed event', () => {
    emitter.on('OrderPlaced', (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'OrderPlaced'>();
      expectTypeOf(event.data).toEqualTypeOf<{ orderId: string; total: number }>();
    });
    emitter.once('PaymentFailed', (event) => {
      expectTypeOf(event.data.reason).toBeString();
    });
  });

  it('lets a wildcard listener narrow the event on its type', () => {
    emitter.on('*', (event) => {
      if (event.type === 'PaymentFailed') expectTypeOf(event.data.reason).toBeString();
    });
  });

  it('does not compile a listener of an unknown type', () => {
    // @ts-expect-error OrderShipped is not in the catalog
    emitter.on('OrderShipped', () => {});
    // @ts-expect-error OrderShipped is not in the catalog
    emitter.events('OrderShipped');
  });

  it('does not compile a wrong payload', () => {
    // @ts-expect-error a PaymentFailed event is not an OrderPlaced event
    emitter.emit('OrderPlaced', PaymentFailed.create({ orderId: 'o-1', reason: 'declined' }));
    // @ts-expect-error bare data is not an event
    emitter.emit('OrderPlaced', { orderId: 'o-1', total: 1 });
    // @ts-expect-error an event of another catalog
    emitter.emit({} as Event<'OrderShipped', { orderId: string }>);
    expectTypeOf(emitter.emit(OrderPlaced.create({ orderId: 'o-1', total: 1 }))).toEqualTypeOf<boolean>();
  });

  it('resolves emitAsync with the result and iterates typed events', () => {
    expectTypeOf(emitter.emitAsync(OrderPlaced.create({ orderId: 'o-1', total: 1 }))).toEqualTypeOf<
      Promise<EmitResult>
    >();
    expectTypeOf(emitter.events('PaymentFailed')).toEqualTypeOf<
      AsyncIterableIterator<Event<'PaymentFailed', { orderId: string; reason: string }>>
    >();
  });
});

describe('a plain emitter', () => {
  type Shop = { placed: { orderId: string }; cancelled: { orderId: string; reason: string } };
  const emitter = createEmitter<Shop>();

  it('types listeners, payloads and the unsubscribe', () => {
    const off = emitter.on('placed', (payload) => {
      expectTypeOf(payload).toEqualTypeOf<{ orderId: string }>();
    });
    expectTypeOf(off).toEqualTypeOf<Unsubscribe>();
    expectTypeOf(off).toExtend<Disposable>();
    // @ts-expect-error reason is missing
    emitter.emit('cancelled', { orderId: 'o-1' });
    // @ts-expect-error not an event of this emitter
    emitter.emit('shipped', { orderId: 'o-1' });
  });

  it('gives a wildcard listener the union of payloads and names', () => {
    emitter.on('*', (payload, type) => {
      expectTypeOf(type).toEqualTypeOf<'placed' | 'cancelled'>();
      expectTypeOf(payload).toEqualTypeOf<{ orderId: string } | { orderId: string; reason: string }>();
    });
  });

  it('accepts async listeners', () => {
    emitter.on('placed', async (payload) => {
      await Promise.resolve(payload.orderId);
    });
  });
});
