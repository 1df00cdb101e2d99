import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { createCatalog } from './catalog.ts';
import { defineEvent, type EventOf } from './define-event.ts';
import type { Event } from './envelope.ts';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number(), note: z.string().default('') }),
});
const PaymentFailed = defineEvent({ type: 'PaymentFailed', schema: z.object({ reason: z.string() }) });

test('create takes the schema input and yields the schema output', () => {
  const event = OrderPlaced.create({ orderId: 'o-1', total: 1 });
  expectTypeOf(event.type).toEqualTypeOf<'OrderPlaced'>();
  expectTypeOf(event.data).toEqualTypeOf<{ orderId: string; total: number; note: string }>();
});

test('wrong data does not compile', () => {
  // @ts-expect-error unknown property
  OrderPlaced.create({ wrong: 1 });
  // @ts-expect-error wrong field type
  OrderPlaced.create({ orderId: 1, total: 1 });
  // @ts-expect-error missing field
  OrderPlaced.create({ orderId: 'o-1' });
});

test('catalog.decode returns the union of its events, narrowed by type', () => {
  const catalog = createCatalog({ events: [OrderPlaced, PaymentFailed] });
  const event = catalog.decode('{}');
  expectTypeOf(event).toEqualTypeOf<EventOf<typeof OrderPlaced> | EventOf<typeof PaymentFailed>>();
  if (event.type === 'PaymentFailed') expectTypeOf(event.data).toEqualTypeOf<{ reason: string }>();
  const plain: Event = event;
  if (OrderPlaced.is(plain)) expectTypeOf(plain.data.total).toEqualTypeOf<number>();
  // @ts-expect-error not a type in the catalog
  catalog.producersOf('Nope');
});
