import {
  type DataOf,
  defineDecider,
  type EventOf,
  type EventStore,
  type HandlerMap,
  handleCommand,
  NonRetryableError,
} from '@tidings/core';
import { OrderCancelled, OrderPaid, OrderPlaced, OrderShipped } from './catalog.ts';
import type { Events } from './services.ts';

/** The events of an order's stream. */
export type OrderEvent =
  | EventOf<typeof OrderPlaced>
  | EventOf<typeof OrderPaid>
  | EventOf<typeof OrderShipped>
  | EventOf<typeof OrderCancelled>;

/** What can be asked of an order. */
export type OrderCommand =
  | { readonly type: 'place'; readonly order: DataOf<typeof OrderPlaced> }
  | { readonly type: 'pay'; readonly orderId: string; readonly paymentId: string; readonly amount: number }
  | { readonly type: 'ship'; readonly orderId: string; readonly carrier: string; readonly trackingId: string }
  | { readonly type: 'cancel'; readonly orderId: string; readonly reason: string };

/** An order as its events made it. */
export interface Order {
  readonly status: 'new' | 'placed' | 'paid' | 'shipped' | 'cancelled';
  readonly total: number;
  readonly currency: string;
  /** The carrier's tracking id, once shipped. */
  readonly trackingId?: string;
}

/** The stream that holds an order's events. */
export const orderStream = (orderId: string): string => `order-${orderId}`;

// Breaking a rule is not a glitch that a retry would fix: the bus dead-letters it at once.
const refuse = (message: string): NonRetryableError => new NonRetryableError(message);

function decide(command: OrderCommand, order: Order): OrderEvent | readonly OrderEvent[] {
  if (command.type === 'place') {
    const { orderId } = command.order;
    if (order.status !== 'new') throw refuse(`Order ${orderId} is already placed; choose another order id.`);
    return OrderPlaced.create(command.order, { subject: orderId });
  }
  const { orderId } = command;
  if (order.status === 'new') throw refuse(`Order ${orderId} was never placed.`);
  switch (command.type) {
    case 'pay':
      // A payment delivered twice (the bus delivers at least once) changes nothing the second time.
      if (order.status === 'paid' || order.status === 'shipped') return [];
      if (order.status === 'cancelled') throw refuse(`Order ${orderId} is cancelled; refund the payment.`);
      return OrderPaid.create(
        { orderId, paymentId: command.paymentId, amount: command.amount, currency: order.currency },
        { subject: orderId },
      );
    case 'ship':
      if (order.status === 'shipped') return [];
      if (order.status === 'cancelled') throw refuse(`Order ${orderId} is cancelled; it cannot be shipped.`);
      if (order.status !== 'paid') throw refuse(`Order ${orderId} is not paid yet; it cannot be shipped.`);
      return OrderShipped.create(
        { orderId, carrier: command.carrier, trackingId: command.trackingId },
        { subject: orderId },
      );
    case 'cancel':
      if (order.status === 'cancelled') return [];
      if (order.status !== 'placed') {
        throw refuse(`Order ${orderId} is already ${order.status}; it can no longer be cancelled.`);
      }
      return OrderCancelled.create({ orderId, reason: command.reason }, { subject: orderId });
  }
}

function evolve(order: Order, event: OrderEvent): Order {
  if (OrderPlaced.is(event))
    return { ...order, status: 'placed', total: event.data.total, currency: event.data.currency };
  if (OrderPaid.is(event)) return { ...order, status: 'paid' };
  if (OrderShipped.is(event)) return { ...order, status: 'shipped', trackingId: event.data.trackingId };
  return { ...order, status: 'cancelled' };
}

/** The rules of an order: placed, then paid, then shipped; cancelled only while it waits for payment. */
export const orderDecider = defineDecider<Order, OrderCommand, OrderEvent>({
  initialState: () => ({ status: 'new', total: 0, currency: 'EUR' }),
  decide,
  evolve,
});

/** Places an order: its OrderPlaced is stored, and the relay publishes it. */
export function placeOrder(store: EventStore, order: DataOf<typeof OrderPlaced>) {
  return handleCommand(store, orderStream(order.orderId), orderDecider, { type: 'place', order });
}

/**
 * Soft-deletes the streams of these orders where they exist (a database kept from an earlier run), so
 * that they can be placed again; their old events stay in the global log. Returns when the newest of
 * those events was recorded, in ms (0 when there were none).
 */
export async function forgetOrders(store: EventStore, orderIds: readonly string[]): Promise<number> {
  let newest = 0;
  for (const orderId of orderIds) {
    const stream = orderStream(orderId);
    const [last] = (await store.readStream(stream, { direction: 'backward', limit: 1 })).events;
    if (last === undefined) continue;
    newest = Math.max(newest, Date.parse(last.recordedAt));
    await store.deleteStream(stream);
  }
  return newest;
}

/**
 * The orders service on the bus: it turns what payments, inventory and shipping report into commands on
 * the order. It never publishes; the events it stores reach the bus through the relay.
 */
export function orders(store: EventStore): HandlerMap<Events> {
  const run = async (command: Exclude<OrderCommand, { type: 'place' }>): Promise<void> => {
    await handleCommand(store, orderStream(command.orderId), orderDecider, command);
  };
  return {
    PaymentCaptured: (event) =>
      run({
        type: 'pay',
        orderId: event.data.orderId,
        paymentId: event.data.paymentId,
        amount: event.data.amount,
      }),
    ParcelDispatched: (event) =>
      run({
        type: 'ship',
        orderId: event.data.orderId,
        carrier: event.data.carrier,
        trackingId: event.data.trackingId,
      }),
    InventoryReleased: (event) =>
      run({ type: 'cancel', orderId: event.data.orderId, reason: event.data.reason }),
  };
}
