import { toStandardJsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { createCatalog } from './catalog.ts';
import { toCloudEvent } from './cloudevents.ts';
import { runWithCause } from './context.ts';
import { defineEvent, upcaster } from './define-event.ts';
import { isTidingsError, SchemaInvalidError } from './errors.ts';

const OrderPlacedV1 = z.object({ orderId: z.string(), amount: z.number() });
const OrderPlacedV2 = z.object({ orderId: z.string(), total: z.number() });
const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 3,
  description: 'A customer placed an order.',
  schema: z.object({ orderId: z.string(), total: z.number().nonnegative(), currency: z.string().length(3) }),
  upcasters: {
    1: upcaster(OrderPlacedV1, ({ orderId, amount }) => ({ orderId, total: amount })),
    2: upcaster(OrderPlacedV2, (v2) => ({ ...v2, currency: 'EUR' })),
  },
});

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('defineEvent', () => {
  test('create validates, freezes and fills the envelope', () => {
    const event = OrderPlaced.create({ orderId: 'o-1', total: 10, currency: 'EUR' }, { subject: 'o-1' });
    expect(event).toMatchObject({ type: 'OrderPlaced', version: 3, subject: 'o-1', data: { total: 10 } });
    expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(event.correlationId).toBe(event.id);
    expect(event.causationId).toBeUndefined();
    expect(Object.isFrozen(event)).toBe(true);
    expect(Object.isFrozen(event.data)).toBe(true);
    expect(Date.parse(event.time)).not.toBeNaN();
  });

  test('create rejects invalid data with every field path and message', () => {
    const error = errorOf(() => OrderPlaced.create({ orderId: 7, total: -1, currency: 'EURO' } as never));
    expect(error).toBeInstanceOf(SchemaInvalidError);
    const issues = (error as SchemaInvalidError).issues;
    expect(issues.map((issue) => issue.path)).toEqual(['orderId', 'total', 'currency']);
    expect((error as Error).message).toContain('OrderPlaced v3');
    expect((error as Error).message).toContain('orderId:');
    expect(isTidingsError(error, 'TIDINGS_SCHEMA_INVALID')).toBe(true);
  });

  test('upcasters chain from version 1 to the latest', () => {
    expect(OrderPlaced.parse({ orderId: 'o-1', amount: 5 }, 1)).toEqual({
      orderId: 'o-1',
      total: 5,
      currency: 'EUR',
    });
    expect(OrderPlaced.parse({ orderId: 'o-1', total: 5 }, 2)).toEqual({
      orderId: 'o-1',
      total: 5,
      currency: 'EUR',
    });
    expect(OrderPlaced.versions).toEqual([1, 2, 3]);
  });

  test('an old version that fails its own schema names that version', () => {
    const error = errorOf(() => OrderPlaced.parse({ orderId: 'o-1' }, 1)) as SchemaInvalidError;
    expect(error.eventVersion).toBe(1);
    expect(error.issues[0]?.path).toBe('amount');
  });

  test('a version newer than the code knows is refused with advice', () => {
    const error = errorOf(() => OrderPlaced.parse({}, 4));
    expect(isTidingsError(error, 'TIDINGS_VERSION_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toMatch(/v4 is newer .*latest: v3.*Deploy the consumer/);
  });

  test('a version older than every upcaster is refused', () => {
    const Shipped = defineEvent({
      type: 'OrderShipped',
      version: 3,
      schema: z.object({ a: z.string() }),
      upcasters: { 2: upcaster(z.object({}), () => ({ a: 'x' })) },
    });
    expect(
      isTidingsError(
        errorOf(() => Shipped.parse({}, 1)),
        'TIDINGS_VERSION_UNSUPPORTED',
      ),
    ).toBe(true);
    expect(Shipped.parse({}, 2)).toEqual({ a: 'x' });
  });

  test('invalid definitions list every problem at once', () => {
    const error = errorOf(() =>
      defineEvent({
        type: 'place order',
        version: 3,
        schema: {} as never,
        upcasters: { 1: upcaster(z.object({}), (x) => x) },
      }),
    );
    expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('PascalCase');
    expect(message).toContain('Standard Schema');
    expect(message).toContain('upcaster for version 2 is missing');
  });

  test('valibot schemas work the same way, JSON Schema included', () => {
    const InvoiceSent = defineEvent({
      type: 'billing.InvoiceSent',
      schema: toStandardJsonSchema(v.object({ invoiceId: v.string(), amount: v.number() })),
    });
    const event = InvoiceSent.create({ invoiceId: 'i-1', amount: 3 });
    expect(event.data).toEqual({ invoiceId: 'i-1', amount: 3 });
    expect(() => InvoiceSent.create({ invoiceId: 1 } as never)).toThrow(/invoiceId/);
    expect(InvoiceSent.jsonSchema()).toMatchObject({ type: 'object', required: ['invoiceId', 'amount'] });
  });

  test('JSON Schema is exported for every version that has one', () => {
    expect(OrderPlaced.jsonSchema()).toMatchObject({
      type: 'object',
      required: ['orderId', 'total', 'currency'],
    });
    expect(OrderPlaced.jsonSchema(1)).toMatchObject({ properties: { amount: { type: 'number' } } });
    expect(OrderPlaced.jsonSchema(7)).toBeUndefined();
  });

  test('an event created while another is handled joins its chain', async () => {
    const first = OrderPlaced.create({ orderId: 'o-1', total: 1, currency: 'EUR' });
    const second = await runWithCause(first, async () => {
      await Promise.resolve();
      return OrderPlaced.create({ orderId: 'o-2', total: 1, currency: 'EUR' });
    });
    expect(second.correlationId).toBe(first.id);
    expect(second.causationId).toBe(first.id);
    const third = runWithCause(second, () =>
      OrderPlaced.create({ orderId: 'o-3', total: 1, currency: 'EUR' }),
    );
    expect(third.correlationId).toBe(first.id);
    expect(third.causationId).toBe(second.id);
  });
});

describe('catalog.decode', () => {
  const PaymentFailed = defineEvent({
    type: 'PaymentFailed',
    schema: z.object({ orderId: z.string(), reason: z.string() }),
  });
  const catalog = createCatalog({
    events: [OrderPlaced, PaymentFailed],
    producers: { orders: [OrderPlaced], payments: [PaymentFailed] },
    consumers: { payments: [OrderPlaced] },
  });

  const wire = (type: string, version: number, data: unknown): string =>
    JSON.stringify({
      specversion: '1.0',
      id: 'e-1',
      type,
      source: '/t',
      time: '2026-01-01T00:00:00Z',
      dataversion: version,
      data,
    });

  test('decodes, validates and upcasts to the latest version', () => {
    const event = catalog.decode(wire('OrderPlaced', 1, { orderId: 'o-1', amount: 9 }));
    expect(event.version).toBe(3);
    expect(event.data).toEqual({ orderId: 'o-1', total: 9, currency: 'EUR' });
    expect(Object.isFrozen(event.data)).toBe(true);
  });

  test('round-trips what the definition created', () => {
    const created = OrderPlaced.create({ orderId: 'o-1', total: 2, currency: 'USD' });
    expect(catalog.decode(toCloudEvent(created))).toEqual(created);
  });

  test('an unknown type is refused with the known ones listed', () => {
    const error = errorOf(() => catalog.decode(wire('OrderTeleported', 1, {})));
    expect(isTidingsError(error, 'TIDINGS_UNKNOWN_TYPE')).toBe(true);
    expect((error as Error).message).toContain('Known types: OrderPlaced, PaymentFailed');
  });

  test('a schema failure names the field', () => {
    const error = errorOf(() => catalog.decode(wire('PaymentFailed', 1, { orderId: 'o-1' })));
    expect(isTidingsError(error, 'TIDINGS_SCHEMA_INVALID')).toBe(true);
    expect((error as SchemaInvalidError).issues).toEqual([{ path: 'reason', message: expect.any(String) }]);
  });

  test('a future version is refused', () => {
    expect(
      isTidingsError(
        errorOf(() => catalog.decode(wire('PaymentFailed', 2, {}))),
        'TIDINGS_VERSION_UNSUPPORTED',
      ),
    ).toBe(true);
  });

  test('producers and consumers are recorded', () => {
    expect(catalog.producersOf('OrderPlaced')).toEqual(['orders']);
    expect(catalog.consumersOf('OrderPlaced')).toEqual(['payments']);
    expect(catalog.consumersOf('PaymentFailed')).toEqual([]);
    expect(catalog.lint()).toEqual([
      { rule: 'no-consumer', type: 'PaymentFailed', message: 'PaymentFailed has no consumer in the catalog' },
    ]);
  });

  test('lint flags command-like names', () => {
    const PlaceOrder = defineEvent({ type: 'PlaceOrder', schema: z.object({}) });
    const findings = createCatalog({ events: [PlaceOrder, OrderPlaced] }).lint();
    expect(findings.map((f) => [f.rule, f.type])).toEqual([['past-tense', 'PlaceOrder']]);
  });

  test('invalid catalogs list every problem', () => {
    const Stray = defineEvent({ type: 'StrayHappened', schema: z.object({}) });
    const error = errorOf(() =>
      createCatalog({ events: [OrderPlaced, OrderPlaced], producers: { x: [Stray] } as never }),
    );
    expect((error as Error).message).toMatch(/OrderPlaced is listed twice.*producers\.x names StrayHappened/);
  });
});

describe('event ids', () => {
  test('are UUIDv7, unique, and sort in creation order', () => {
    const ids = Array.from(
      { length: 5_000 },
      () => OrderPlaced.create({ orderId: 'o', total: 1, currency: 'EUR' }).id,
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 10))
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
