import {
  createBus,
  createEmitter,
  createEvent,
  type Event,
  type Middleware,
  toTransportMessage,
} from '@tidings/core';
import { formatChains } from './chains.ts';
import { catalog, OrderPlaced } from './catalog.ts';
import { type Carrier, inventory, orders, payments, shipping } from './services.ts';
import { shopTransport } from './transport.ts';

const { transport, where, cleanUp } = shopTransport();
console.log(`Tidings shop on ${transport.name} (${where})\n`);

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
  transport,
  // Short waits so the demo is quick; production defaults are 3 × 100 ms..1 s, then 30 s, 5 min, 30 min.
  retry: { immediate: 2, minDelayMs: 20, maxDelayMs: 50, delays: [150, 300] },
  onDeadLetter: (deadLetter) => {
    const orderId = (deadLetter.event?.data as { orderId?: string } | undefined)?.orderId ?? '?';
    finish(orderId, 'dead-lettered');
    console.log(
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
    console.log(
      `  ! shipping try ${ctx.tries} (delivery ${ctx.delivery.attempt}) failed: ${(error as Error).message}`,
    );
    throw error;
  }
};

const carrier: Carrier = { ferryRunning: false, calls: 0 };
await bus.subscribe({ group: 'inventory', handlers: inventory });
await bus.subscribe({ group: 'payments', handlers: payments({ cardLimit: 500 }) });
await bus.subscribe({ group: 'shipping', handlers: shipping(carrier), middleware: [reportFailures] });
await bus.subscribe({ group: 'orders', handlers: orders });
await bus.subscribe({ group: 'feed', patterns: ['*'], handler: (event) => void feed.emit(event) });

// Resolves once every order reached an end state: shipped, cancelled or dead-lettered.
function settled(orderIds: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(
      () =>
        reject(new Error(`orders did not settle: ${orderIds.filter((id) => !finished.has(id)).join(', ')}`)),
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
}

const placed = [
  OrderPlaced.create(
    {
      orderId: 'o-1001',
      customerId: 'c-1',
      lines: [{ sku: 'tea', quantity: 2, price: 4.5 }],
      total: 9,
      currency: 'EUR',
      region: 'city',
    },
    { subject: 'o-1001' },
  ),
  OrderPlaced.create(
    {
      orderId: 'o-1002',
      customerId: 'c-2',
      lines: [{ sku: 'bike', quantity: 1, price: 899 }],
      total: 899,
      currency: 'EUR',
      region: 'city',
    },
    { subject: 'o-1002' },
  ),
  OrderPlaced.create(
    {
      orderId: 'o-1003',
      customerId: 'c-3',
      lines: [{ sku: 'kayak', quantity: 1, price: 420 }],
      total: 420,
      currency: 'EUR',
      region: 'island',
    },
    { subject: 'o-1003' },
  ),
];

console.log(
  'Placing orders: tea to the city, a bike over the card limit, a kayak to the island, and one from the old till (v1)',
);
await bus.publish(placed);
// The old point-of-sale still sends version 1 of OrderPlaced; consumers receive it upcast to version 2.
const legacy = createEvent(
  'OrderPlaced',
  1,
  { orderId: 'o-1004', customerId: 'c-4', items: [{ sku: 'mug', quantity: 3 }], amount: 12 },
  { subject: 'o-1004', source: 'urn:shop:old-till' },
);
await transport.publish('events', [toTransportMessage(legacy)]);

await settled(['o-1001', 'o-1002', 'o-1003', 'o-1004']);
console.log('');
for (const [orderId, state] of [...finished].sort()) console.log(`  ${orderId}: ${state}`);

console.log('\nDead letters, grouped by fingerprint:');
for (const group of await bus.deadLetters.groups()) {
  console.log(
    `  ${group.fingerprint}  ${group.count}×  ${group.group}/${group.handler}  ${group.errorName}: ${group.errorMessage}`,
  );
}

console.log('\nThe ferry runs again: replaying the dead letters of the shipping group…');
carrier.ferryRunning = true;
finished.delete('o-1003');
const { replayed } = await bus.deadLetters.replay({ group: 'shipping' });
await settled(['o-1003']);
console.log(
  `  replayed ${replayed}; o-1003: ${finished.get('o-1003')}; dead letters left: ${(await bus.deadLetters.list()).length}`,
);

console.log('\nEvent chains (type and version, event id, and the event that caused it):\n');
const orderOf = (event: Event): string => (event.data as { orderId?: string }).orderId ?? '?';
console.log(formatChains(seen, (root) => `Order ${orderOf(root)}, placed through ${root.source}`));

await bus.close();
await cleanUp();
