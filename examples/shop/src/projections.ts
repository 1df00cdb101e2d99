import { defineProjection, type MaybePromise } from '@tidings/core';
import { OrderCancelled, OrderPaid, OrderPlaced, OrderShipped } from './catalog.ts';

/** The statuses "orders-by-status" keeps a collection for, in the order an order goes through them. */
export const STATUSES = ['placed', 'paid', 'shipped', 'cancelled'] as const;

/** A document of "orders-by-status": one order in the collection of its status. */
export interface StatusEntry {
  readonly total: number;
  /** When the order reached this status (the store's recording time). */
  readonly since: string;
}

/** A document of "revenue-per-day": what was paid on one day (by the store's recording time). */
export interface DayDocument {
  readonly orders: number;
  /** Amounts by currency. */
  readonly revenue: Readonly<Record<string, number>>;
}

// SQLite and the memory store hand `documents` calls back as plain values and apply must stay
// synchronous there; PostgreSQL hands back promises. These two helpers chain either, so that one
// projection runs on all three stores.
const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';

function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromise(value) ? value.then(next) : next(value);
}

function inTurn(steps: readonly (() => unknown)[], from = 0): MaybePromise<void> {
  for (let index = from; index < steps.length; index += 1) {
    const done = (steps[index] as () => unknown)();
    if (isPromise(done)) return done.then(() => inTurn(steps, index + 1));
  }
  return undefined;
}

const STATUS_OF = {
  OrderPlaced: 'placed',
  OrderPaid: 'paid',
  OrderShipped: 'shipped',
  OrderCancelled: 'cancelled',
} as const;

/**
 * INLINE: the orders in each status. The store applies it inside every append's transaction, so a
 * command's events and this read model commit together. Each status is a collection holding one
 * document per order; collection `orders` remembers each order's status and total, to move it on.
 * Every document belongs to one order, so appends to different orders, which may run at the same time
 * on PostgreSQL, never write the same document.
 */
export const ordersByStatus = defineProjection({
  name: 'orders-by-status',
  events: [OrderPlaced, OrderPaid, OrderShipped, OrderCancelled],
  apply(event, { documents }) {
    const { orderId } = event.data;
    const status = STATUS_OF[event.type];
    type Known = { status: string; total: number };
    return andThen(documents.get<Known>('orders', orderId), (known) => {
      const total = 'total' in event.data ? event.data.total : (known?.total ?? 0);
      return inTurn([
        () => (known === undefined ? undefined : documents.delete(known.status, orderId)),
        () => documents.put(status, orderId, { total, since: event.recordedAt } satisfies StatusEntry),
        () => documents.put('orders', orderId, { status, total } satisfies Known),
      ]);
    });
  },
});

/**
 * ASYNC: what was paid, per day. A runner (`runProjections`) follows the store and writes its checkpoint
 * in the same transaction as these documents, so no payment is counted twice.
 */
export const revenuePerDay = defineProjection({
  name: 'revenue-per-day',
  events: [OrderPaid],
  apply: (event, { documents }) =>
    documents.update<DayDocument>('days', event.recordedAt.slice(0, 10), (day) => {
      const { amount, currency } = event.data;
      const revenue = { ...day?.revenue, [currency]: (day?.revenue[currency] ?? 0) + amount };
      return { orders: (day?.orders ?? 0) + 1, revenue };
    }),
});
