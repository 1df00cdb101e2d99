import { aggregateStream, type ProjectionRunner, type StoredDocument } from '@tidings/core';
import type { ShopClock } from './clock.ts';
import { type Order, orderDecider, orderStream } from './orders.ts';
import { type DayDocument, STATUSES, type StatusEntry } from './projections.ts';
import type { ShopStore } from './transport.ts';

/** What the shop's read models and its temporal query answered at the end of the run. */
export interface ReadModels {
  /** "orders-by-status": the orders in each status, by id. */
  readonly byStatus: Readonly<Record<(typeof STATUSES)[number], readonly string[]>>;
  /** "revenue-per-day": one document per day. */
  readonly revenue: readonly StoredDocument<DayDocument>[];
  /** Order o-1003 as it was ten seconds before the end of the run (by the store's clock), and now. */
  readonly kayak: { readonly asOf: string; readonly then: Order; readonly now: Order };
}

const money = (revenue: Readonly<Record<string, number>>): string =>
  Object.entries(revenue)
    .map(([currency, amount]) => `${amount.toFixed(2)} ${currency}`)
    .join(' + ');

const describe = (order: Order, version: number): string =>
  `${order.status}${order.trackingId === undefined ? '' : `, tracking ${order.trackingId}`} (stream version ${version})`;

/** Prints the read models and "order o-1003 as of 10 seconds ago", and returns what they held. */
export async function reportReadModels(run: {
  readonly store: ShopStore;
  readonly revenue: ProjectionRunner;
  readonly clock: ShopClock;
  readonly log: (line: string) => void;
}): Promise<ReadModels> {
  const { store, revenue, clock, log } = run;
  const inline = store.projections;
  if (inline === undefined) throw new Error('the shop store was opened without its inline projection');

  // Read your writes: the kayak's shipment is the last event the run stored; wait until both read
  // models include it (the inline one already does: it committed with the append).
  const kayak = orderStream('o-1003');
  const [last] = (await store.readStream(kayak, { direction: 'backward', limit: 1 })).events;
  if (last === undefined) throw new Error(`stream ${kayak} is empty`);
  await inline.get('orders-by-status').waitFor(last.position);
  await revenue.get('revenue-per-day').waitFor(last.position);

  log('Orders by status (inline projection "orders-by-status", committed with each append):');
  const documents = inline.documents('orders-by-status');
  const byStatus = Object.fromEntries(STATUSES.map((status) => [status, [] as string[]])) as Record<
    (typeof STATUSES)[number],
    string[]
  >;
  for (const status of STATUSES) {
    const entries = await documents.list<StatusEntry>(status);
    byStatus[status] = entries.map((entry) => entry.id);
    if (entries.length === 0) continue;
    const total = entries.reduce((sum, entry) => sum + entry.document.total, 0);
    log(
      `  ${status.padEnd(10)} ${entries.length}  ${byStatus[status].join(', ').padEnd(26)} ${total.toFixed(2)} EUR`,
    );
  }

  log('\nRevenue per day (async projection "revenue-per-day", kept up by runProjections):');
  const days = await revenue.documents('revenue-per-day').list<DayDocument>('days');
  for (const { id, document } of days) {
    log(`  ${id}  ${document.orders} paid orders  ${money(document.revenue)}`);
  }

  // The store records when it stored each event; the shop's clock moved an hour on when the ferry came
  // back, so ten seconds ago the kayak was paid for and still waiting for its parcel.
  const asOf = new Date(clock.now() - 10_000).toISOString();
  const fold = { initialState: orderDecider.initialState, evolve: orderDecider.evolve };
  const then = await aggregateStream(store, kayak, { ...fold, asOf: { time: asOf } });
  const now = await aggregateStream(store, kayak, fold);
  log(`\nOrder o-1003 as of 10 seconds ago (${asOf.slice(11, 19)} UTC by the store's clock):`);
  log(`  then: ${describe(then.state, then.version)}`);
  log(`  now:  ${describe(now.state, now.version)}`);
  return { byStatus, revenue: days, kayak: { asOf, then: then.state, now: now.state } };
}
