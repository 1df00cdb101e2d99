import type { HandlerMap } from '@tidings/core';
import {
  type catalog,
  InventoryReleased,
  InventoryReserved,
  ParcelDispatched,
  PaymentCaptured,
  PaymentFailed,
} from './catalog.ts';

/** The shop's event definitions, for typing handler maps. */
export type Events = (typeof catalog)['events'];

/** Sets stock aside when an order is placed, and puts it back when its payment fails. */
export const inventory: HandlerMap<Events> = {
  OrderPlaced: async (event, ctx) => {
    await ctx.publish(
      InventoryReserved.create(
        { orderId: event.data.orderId, skus: event.data.lines.map((l) => l.sku) },
        { subject: event.subject },
      ),
    );
  },
  PaymentFailed: async (event, ctx) => {
    await ctx.publish(
      InventoryReleased.create(
        { orderId: event.data.orderId, reason: event.data.reason },
        { subject: event.subject },
      ),
    );
  },
};

// Each service keeps its own view of the orders it needs, built from OrderPlaced. Its groups run
// independently, so a later event can arrive before OrderPlaced was seen: that is a retryable error,
// and the retry middleware waits for the view to catch up (eventual consistency, not ordering).
function seen<T>(view: Map<string, T>, orderId: string): T {
  const found = view.get(orderId);
  if (found === undefined)
    throw new Error(`Order ${orderId} not seen yet; retrying until OrderPlaced arrives`);
  return found;
}

/** Charges the customer; orders above the card limit are declined. */
export function payments(limits: { cardLimit: number }): HandlerMap<Events> {
  const totals = new Map<string, number>();
  return {
    OrderPlaced: (event) => {
      totals.set(event.data.orderId, event.data.total);
    },
    InventoryReserved: async (event, ctx) => {
      const total = seen(totals, event.data.orderId);
      const outcome =
        total > limits.cardLimit
          ? PaymentFailed.create(
              { orderId: event.data.orderId, reason: `card limit of ${limits.cardLimit} exceeded` },
              { subject: event.subject },
            )
          : PaymentCaptured.create(
              { orderId: event.data.orderId, paymentId: `pay-${event.data.orderId}`, amount: total },
              { subject: event.subject },
            );
      await ctx.publish(outcome);
    },
  };
}

/** The shipping carrier's API, which refuses island addresses while its ferry service is down. */
export interface Carrier {
  ferryRunning: boolean;
  calls: number;
}

/** Books a parcel with the carrier once the orders service has recorded the order as paid. */
export function shipping(carrier: Carrier): HandlerMap<Events> {
  const regions = new Map<string, string>();
  return {
    OrderPlaced: (event) => {
      regions.set(event.data.orderId, event.data.region);
    },
    OrderPaid: async (event, ctx) => {
      const region = seen(regions, event.data.orderId);
      carrier.calls += 1;
      if (region === 'island' && !carrier.ferryRunning) {
        throw new Error(`Carrier refused order ${event.data.orderId}: no ferry service to the island today`);
      }
      await ctx.publish(
        ParcelDispatched.create(
          { orderId: event.data.orderId, carrier: 'ParcelCo', trackingId: `PC-${event.data.orderId}` },
          { subject: event.subject },
        ),
      );
    },
  };
}
