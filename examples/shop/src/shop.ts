import {
  createBus,
  createEmitter,
  createEvent,
  type DataOf,
  type Event,
  handleCommand,
  invalidOptions,
  type Middleware,
  relayToBus,
  runProjections,
  type Transport,
} from '@tidings/core';
import { formatChains } from './chains.ts';
import { catalog, type OrderPlaced } from './catalog.ts';
import { shopClock } from './clock.ts';
import { forgetOrders, orderDecider, orders, orderStream, placeOrder } from './orders.ts';
import { ordersByStatus, revenuePerDay } from './projections.ts';
import { type ReadModels, reportReadModels } from './read-models.ts';
import { type Carrier, inventory, payments, shipping } from './services.ts';
import type { ShopStore, ShopStoreOptions } from './transport.ts';

/** Options of {@link runShop}. */
export interface RunShopOptions {
  readonly transport: Transport;
  /** Opens the orders service's event store. */
  readonly openStore: (options: ShopStoreOptions) => ShopStore;
  /** Where the story is told (default `console.log`). */
  readonly log?: ((line: string) => void) | undefined;
}

/** How the run ended: each order's end state, the refused command, and the read models. */
export interface ShopOutcome extends ReadModels {
  readonly finished: ReadonlyMap<string, string>;
  readonly refused: string;
}

const lineOf = (sku: string, quantity: number, price: number) => [{ sku, quantity, price }];
const ORDERS: readonly DataOf<typeof OrderPlaced>[] = [
  {
    orderId: 'o-1001',
    customerId: 'c-1',
    lines: lineOf('tea', 2, 4.5),
    total: 9,
    currency: 'EUR',
    region: 'city',
  },
  {
    orderId: 'o-1002',
    customerId: 'c-2',
    lines: lineOf('bike', 1, 899),
    total: 899,
    currency: 'EUR',
    region: 'city',
  },
  {
    orderId: 'o-1003',
    customerId: 'c-3',
    lines: lineOf('kayak', 1, 420),
    total: 420,
    currency: 'EUR',
    region: 'island',
  },
];

/**
 * Runs the shop once: places four orders, lets inventory, payments and shipping react through the bus,
 * replays the dead letter the carrier caused, and prints the event chains, the read models and a
 * temporal query. Every resource it opens is closed before it returns.
 *
 * @example
 * await runShop({ transport: memoryTransport(), openStore: (options) => memoryEventStore(options) });
 */
export async function runShop(options: RunShopOptions): Promise<ShopOutcome> {
  const problems: string[] = [];
  if (typeof options?.transport?.consume !== 'function') {
    problems.push('transport must be a Transport, such as memoryTransport()');
  }
  if (typeof options?.openStore !== 'function') {
    problems.push('openStore must be a function opening an event store, such as memoryEventStore');
  }
  if (problems.length > 0) throw invalidOptions('runShop', problems);
  const log = options.log ?? ((line: string) => console.log(line));
  const clock = shopClock();
  // Every event also flows into an in-process emitter: the shop's activity feed.
  const feed = createEmitter(catalog);
  const seen: Event[] = [];
  const finished = new Map<string, string>();
  const changes = new Set<() => void>();
  const finish = (orderId: string, state: string): void => {
    finished.set(orderId, state);
    for (const change of [...changes]) change();
  };
  feed.on('*', (event) => seen.push(event));
  feed.on('OrderShipped', (event) => finish(event.data.orderId, 'shipped'));
  feed.on('OrderCancelled', (event) => finish(event.data.orderId, `cancelled (${event.data.reason})`));

  const bus = createBus({
    catalog,
    transport: options.transport,
    // Short waits so the demo is quick; production defaults are 3 × 100 ms..1 s, then 30 s, 5 min, 30 min.
    retry: { immediate: 2, minDelayMs: 20, maxDelayMs: 50, delays: [150, 300] },
    onDeadLetter: (deadLetter) => {
      const orderId = (deadLetter.event?.data as { orderId?: string } | undefined)?.orderId ?? '?';
      finish(orderId, 'dead-lettered');
      log(
        `  ✗ ${deadLetter.group} gave up on ${deadLetter.type} for ${orderId} after ${deadLetter.attempts} tries: dead letter`,
      );
    },
  });
  // On a broker whose namespace outlives the run (NATS, RabbitMQ), start from no dead letters.
  await bus.deadLetters.discard({});

  // A middleware of our own: report each failed try of the shipping handler.
  const reportFailures: Middleware = async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      log(
        `  ! shipping try ${ctx.tries} (delivery ${ctx.delivery.attempt}) failed: ${(error as Error).message}`,
      );
      throw error;
    }
  };

  const carrier: Carrier = { ferryRunning: false, calls: 0 };

  // Resolves once every order reached an end state: shipped, cancelled or dead-lettered.
  const settled = (orderIds: readonly string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(
        () =>
          reject(
            new Error(`orders did not settle: ${orderIds.filter((id) => !finished.has(id)).join(', ')}`),
          ),
        15_000,
      );
      const check = (): void => {
        if (!orderIds.every((id) => finished.has(id))) return;
        clearTimeout(deadline);
        changes.delete(check);
        resolve();
      };
      changes.add(check);
      check();
    });

  // The orders service keeps each order as a stream of events; "orders-by-status" is updated in the
  // same transaction as every append, and the relay carries what was stored to the bus.
  const store = options.openStore({ catalog, clock, projections: [ordersByStatus] });
  const relay = relayToBus(store, bus, { name: 'orders-to-bus', pollIntervalMs: 20 });
  const revenue = runProjections(store, { projections: [revenuePerDay], pollIntervalMs: 100 });
  try {
    await bus.subscribe({ group: 'inventory', handlers: inventory });
    await bus.subscribe({ group: 'payments', handlers: payments({ cardLimit: 500 }) });
    await bus.subscribe({ group: 'shipping', handlers: shipping(carrier), middleware: [reportFailures] });
    await bus.subscribe({ group: 'orders', handlers: orders(store) });
    await bus.subscribe({ group: 'feed', patterns: ['*'], handler: (event) => void feed.emit(event) });

    log(
      'Placing orders: tea to the city, a bike over the card limit, a kayak to the island, and one from the old till (v1)',
    );
    // A database kept from an earlier run (TIDINGS_DB) holds these orders already: start them afresh,
    // on a clock that does not run behind the times the store recorded then.
    const newest = await forgetOrders(store, ['o-1001', 'o-1002', 'o-1003', 'o-1004']);
    clock.advance(Math.max(0, newest - clock.now()));
    for (const order of ORDERS) await placeOrder(store, order);
    // The old till, an earlier build of the orders service, still appends version 1 of OrderPlaced (with
    // no expected version). The store upcasts it on every read, so the decider, the projections and
    // (through the relay) the bus all see version 2.
    const legacy = createEvent(
      'OrderPlaced',
      1,
      { orderId: 'o-1004', customerId: 'c-4', items: [{ sku: 'mug', quantity: 3 }], amount: 12 },
      { subject: 'o-1004', source: 'urn:shop:old-till' },
    );
    await store.append(orderStream('o-1004'), [legacy]);

    await settled(['o-1001', 'o-1002', 'o-1003', 'o-1004']);
    log('');
    for (const [orderId, state] of [...finished].sort()) log(`  ${orderId}: ${state}`);

    log('\nDead letters, grouped by fingerprint:');
    for (const group of await bus.deadLetters.groups()) {
      log(
        `  ${group.fingerprint}  ${group.count}×  ${group.group}/${group.handler}  ${group.errorName}: ${group.errorMessage}`,
      );
    }

    log('\nAn hour later the ferry runs again: replaying the dead letters of the shipping group…');
    clock.advance(60 * 60 * 1000);
    carrier.ferryRunning = true;
    finished.delete('o-1003');
    const { replayed } = await bus.deadLetters.replay({ group: 'shipping' });
    await settled(['o-1003']);
    log(
      `  replayed ${replayed}; o-1003: ${finished.get('o-1003')}; dead letters left: ${(await bus.deadLetters.list()).length}`,
    );

    // The decider keeps the rules: a shipped order cannot be cancelled any more.
    const refused = await handleCommand(store, orderStream('o-1001'), orderDecider, {
      type: 'cancel',
      orderId: 'o-1001',
      reason: 'changed my mind',
    }).then(
      () => 'accepted',
      (error: unknown) => (error as Error).message,
    );
    log(`  a late cancellation of o-1001 is refused: ${refused}`);

    log('\nEvent chains (type and version, event id, and the event that caused it):\n');
    const orderOf = (event: Event): string => (event.data as { orderId?: string }).orderId ?? '?';
    log(formatChains(seen, (root) => `Order ${orderOf(root)}, placed through ${root.source}`));

    const models = await reportReadModels({ store, revenue, clock, log });
    return { finished, refused, ...models };
  } finally {
    await relay.close();
    await revenue.close();
    await bus.close();
    await store.close();
  }
}
