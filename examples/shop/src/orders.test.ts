import { NonRetryableError } from '@tidings/core';
import { deciderSpec } from '@tidings/core/testing';
import { describe, it } from 'vitest';
import { OrderCancelled, OrderPaid, OrderPlaced, OrderShipped } from './catalog.ts';
import { orderDecider } from './orders.ts';

const { given } = deciderSpec(orderDecider);
const order = {
  orderId: 'o-1',
  customerId: 'c-1',
  lines: [{ sku: 'tea', quantity: 1, price: 4 }],
  total: 4,
  currency: 'EUR',
  region: 'city' as const,
};
const placed = OrderPlaced.create(order);
const paid = OrderPaid.create({ orderId: 'o-1', paymentId: 'p-1', amount: 4, currency: 'EUR' });
const shipped = OrderShipped.create({ orderId: 'o-1', carrier: 'ParcelCo', trackingId: 'PC-1' });
const cancelled = OrderCancelled.create({ orderId: 'o-1', reason: 'declined' });
const pay = { type: 'pay', orderId: 'o-1', paymentId: 'p-1', amount: 4 } as const;
const ship = { type: 'ship', orderId: 'o-1', carrier: 'ParcelCo', trackingId: 'PC-1' } as const;
const cancel = { type: 'cancel', orderId: 'o-1', reason: 'changed my mind' } as const;

describe('the order decider', () => {
  it('places, pays and ships an order', async () => {
    await given([])
      .when({ type: 'place', order })
      .then([{ type: 'OrderPlaced', data: order }]);
    await given([placed])
      .when(pay)
      .then([{ type: 'OrderPaid', data: { orderId: 'o-1', paymentId: 'p-1', amount: 4, currency: 'EUR' } }]);
    await given([placed, paid])
      .when(ship)
      .then([{ type: 'OrderShipped' }]);
  });

  it('cancels an order that waits for payment', async () => {
    await given([placed])
      .when(cancel)
      .then([{ type: 'OrderCancelled', data: { orderId: 'o-1', reason: 'changed my mind' } }]);
  });

  it('refuses what the rules forbid, as errors a retry would not fix', async () => {
    await given([placed, cancelled])
      .when(ship)
      .then(/cancelled; it cannot be shipped/);
    await given([placed])
      .when(ship)
      .then(/not paid yet/);
    await given([placed, paid, shipped])
      .when(cancel)
      .then(/already shipped/);
    await given([placed, cancelled]).when(pay).then(NonRetryableError);
    await given([placed])
      .when({ type: 'place', order })
      .then(/already placed/);
    await given([])
      .when(pay)
      .then(/never placed/);
  });

  it('changes nothing when a payment or a shipment is reported twice (at-least-once delivery)', async () => {
    await given([placed, paid]).when(pay).then([]);
    await given([placed, paid, shipped]).when(ship).then([]);
    await given([placed, cancelled]).when(cancel).then([]);
  });
});
