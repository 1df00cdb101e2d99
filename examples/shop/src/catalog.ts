import { createCatalog, defineEvent, upcaster } from '@tidings/core';
import { z } from 'zod';

const Line = z.object({
  sku: z.string(),
  quantity: z.number().int().positive(),
  price: z.number().nonnegative(),
});

// Version 1 of OrderPlaced had no prices per line and called the total `amount`; old producers still
// send it, and the upcaster turns it into version 2 for every consumer.
const OrderPlacedV1 = z.object({
  orderId: z.string(),
  customerId: z.string(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })),
  amount: z.number().nonnegative(),
});

export const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 2,
  description: 'A customer placed an order.',
  source: 'urn:shop:orders',
  schema: z.object({
    orderId: z.string(),
    customerId: z.string(),
    lines: z.array(Line).min(1),
    total: z.number().nonnegative(),
    currency: z.string().length(3),
    region: z.enum(['city', 'countryside', 'island']),
  }),
  upcasters: {
    1: upcaster(OrderPlacedV1, (v1) => ({
      orderId: v1.orderId,
      customerId: v1.customerId,
      lines: v1.items.map((item) => ({ ...item, price: 0 })),
      total: v1.amount,
      currency: 'EUR',
      region: 'city' as const,
    })),
  },
});

export const InventoryReserved = defineEvent({
  type: 'InventoryReserved',
  description: 'Stock was set aside for an order.',
  source: 'urn:shop:inventory',
  schema: z.object({ orderId: z.string(), skus: z.array(z.string()) }),
});

export const InventoryReleased = defineEvent({
  type: 'InventoryReleased',
  description: 'Stock set aside for an order was put back (compensation).',
  source: 'urn:shop:inventory',
  schema: z.object({ orderId: z.string(), reason: z.string() }),
});

export const PaymentCaptured = defineEvent({
  type: 'PaymentCaptured',
  description: "The customer's payment went through.",
  source: 'urn:shop:payments',
  schema: z.object({ orderId: z.string(), paymentId: z.string(), amount: z.number() }),
});

export const PaymentFailed = defineEvent({
  type: 'PaymentFailed',
  description: 'The payment was declined; the order will be cancelled.',
  source: 'urn:shop:payments',
  schema: z.object({ orderId: z.string(), reason: z.string() }),
});

export const OrderPaid = defineEvent({
  type: 'OrderPaid',
  description: 'The order was paid for; it can now be shipped.',
  source: 'urn:shop:orders',
  schema: z.object({
    orderId: z.string(),
    paymentId: z.string(),
    amount: z.number().nonnegative(),
    currency: z.string().length(3),
  }),
});

export const ParcelDispatched = defineEvent({
  type: 'ParcelDispatched',
  description: 'The carrier took the parcel of an order.',
  source: 'urn:shop:shipping',
  schema: z.object({ orderId: z.string(), carrier: z.string(), trackingId: z.string() }),
});

export const OrderShipped = defineEvent({
  type: 'OrderShipped',
  description: 'The order left the warehouse with a carrier.',
  source: 'urn:shop:orders',
  schema: z.object({ orderId: z.string(), carrier: z.string(), trackingId: z.string() }),
});

export const OrderCancelled = defineEvent({
  type: 'OrderCancelled',
  description: 'The order will not be fulfilled.',
  source: 'urn:shop:orders',
  schema: z.object({ orderId: z.string(), reason: z.string() }),
});

/** The shop's events, who produces them and who reacts to them. */
export const catalog = createCatalog({
  title: 'Shop events',
  events: [
    OrderPlaced,
    InventoryReserved,
    InventoryReleased,
    PaymentCaptured,
    PaymentFailed,
    OrderPaid,
    ParcelDispatched,
    OrderShipped,
    OrderCancelled,
  ],
  // The orders service keeps its events in the event store; the relay publishes them to the bus.
  producers: {
    orders: [OrderPlaced, OrderPaid, OrderShipped, OrderCancelled],
    inventory: [InventoryReserved, InventoryReleased],
    payments: [PaymentCaptured, PaymentFailed],
    shipping: [ParcelDispatched],
  },
  consumers: {
    inventory: [OrderPlaced, PaymentFailed],
    payments: [OrderPlaced, InventoryReserved],
    shipping: [OrderPlaced, OrderPaid],
    orders: [PaymentCaptured, InventoryReleased, ParcelDispatched],
  },
});
