import assert from 'node:assert/strict';
import { createCatalog, defineEvent, isTidingsError, upcaster } from '@tidings/core';
import { z } from 'zod';

// Version 1 carried `amount`; version 2 renamed it and added a currency.
const OrderPlacedV1 = z.object({ orderId: z.string(), amount: z.number() });

export const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 2,
  description: 'A customer placed an order; the shop owes them goods.',
  schema: z.object({ orderId: z.string(), total: z.number().nonnegative(), currency: z.string().length(3) }),
  upcasters: {
    1: upcaster(OrderPlacedV1, (v1) => ({ orderId: v1.orderId, total: v1.amount, currency: 'EUR' })),
  },
});

export const PaymentFailed = defineEvent({
  type: 'PaymentFailed',
  schema: z.object({ orderId: z.string(), reason: z.string() }),
});

export const catalog = createCatalog({
  events: [OrderPlaced, PaymentFailed],
  producers: { orders: [OrderPlaced], payments: [PaymentFailed] },
  consumers: { payments: [OrderPlaced], orders: [PaymentFailed] },
});

// Creating validates the data and freezes the event.
const placed = OrderPlaced.create({ orderId: 'o-1', total: 42, currency: 'EUR' }, { subject: 'o-1' });
assert.equal(placed.version, 2);
assert.equal(placed.correlationId, placed.id); // a root event starts its own chain

// An old producer's version 1 event is read as version 2.
const old = catalog.decode({
  specversion: '1.0',
  id: 'e-7',
  type: 'OrderPlaced',
  source: '/legacy-shop',
  time: '2025-06-01T10:00:00Z',
  dataversion: 1,
  data: { orderId: 'o-7', amount: 10 },
});
assert.deepEqual(old.data, { orderId: 'o-7', total: 10, currency: 'EUR' });

// Bad input is refused with a code and the field that was wrong.
try {
  catalog.decode({
    specversion: '1.0',
    id: 'e-8',
    type: 'OrderPlaced',
    source: '/shop',
    time: '2026-01-01T10:00:00Z',
    dataversion: 2,
    data: { orderId: 'o-8', total: -1, currency: 'EUR' },
  });
  assert.fail('expected a schema error');
} catch (error) {
  assert.ok(isTidingsError(error, 'TIDINGS_SCHEMA_INVALID'));
  assert.match(error.message, /total/);
}
