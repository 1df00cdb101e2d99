import { availableParallelism, loadavg } from 'node:os';
import {
  createBus,
  createCatalog,
  defineEvent,
  type Delivery,
  memoryTransport,
  type Middleware,
  type TransportMessage,
  toTransportMessage,
} from '@tidings/core';
import { z } from 'zod';

/** One case of the bus-path benchmark, in the shape of `bench/results/bus.json`. */
export interface BusPathCase {
  readonly name: string;
  readonly unit: string;
  /** CPU per delivery through the bus (median over the rounds). */
  readonly tidings: number;
  readonly peer: string;
  /** CPU per delivery through the transport alone, measured in the same rounds. */
  readonly peer_value: number;
  /** peer ÷ tidings: the share of the transport-alone speed that the bus keeps (1 = no cost). */
  readonly ratio: number;
  /** tidings − peer: what the bus adds to each delivery. */
  readonly bus_us: number;
  /** Wall-clock time per delivery through the bus (median). */
  readonly wall_us: number;
}

/** The report written to `bench/results/bus.json`. */
export interface BusPathReport {
  readonly events: number;
  readonly rounds: number;
  readonly node: string;
  readonly cpus: number;
  /** The 1-minute load average when the run started: the machine may be shared. */
  readonly load: number;
  readonly cases: readonly BusPathCase[];
}

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), customerId: z.string(), total: z.number(), currency: z.string() }),
});
const catalog = createCatalog({ events: [OrderPlaced] });

const CHANNEL = 'events';
const GROUP = 'bench';
const CONCURRENCY = 64;
const DEFAULT_EVENTS = 20_000;
const DEFAULT_ROUNDS = 5;

/** How the deliveries are consumed in one measured run. */
type Way = 'transport' | 'bus' | 'bus-async' | 'bus-middleware';

const WAYS: Readonly<Record<Exclude<Way, 'transport'>, string>> = {
  bus: 'bus, synchronous handler',
  'bus-async': 'bus, async handler',
  'bus-middleware': 'bus, one pass-through middleware (composed pipeline)',
};

// A middleware that only calls next: it sends the subscription down the general, composed pipeline.
const passThrough: Middleware = (_ctx, next) => next();

const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/** Consumes every message once, the chosen way; returns CPU and wall µs per delivery. */
async function consumeAll(way: Way, messages: readonly TransportMessage[]): Promise<[number, number]> {
  const total = messages.length;
  const transport = memoryTransport();
  const bus = createBus({ catalog, transport });
  // The group exists from its first consume: register it, then fill it while nobody consumes.
  const options = {
    channel: CHANNEL,
    group: GROUP,
    topics: ['OrderPlaced'],
    ordered: false,
    leaseMs: 30_000,
  };
  await (await transport.consume({ ...options, concurrency: 1 }, (d) => d.nack())).close();
  for (let i = 0; i < total; i += 1_000) await transport.publish(CHANNEL, messages.slice(i, i + 1_000));

  let handled = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const count = (): void => {
    handled += 1;
    if (handled === total) finish();
  };
  const cpuBefore = cpuMicros();
  const started = performance.now();
  if (way === 'transport') {
    await transport.consume({ ...options, concurrency: CONCURRENCY }, async (delivery: Delivery) => {
      await delivery.ack();
      count();
    });
  } else {
    await bus.subscribe({
      group: GROUP,
      concurrency: CONCURRENCY,
      middleware: way === 'bus-middleware' ? [passThrough] : [],
      handlers: {
        OrderPlaced:
          way === 'bus-async'
            ? async () => {
                await Promise.resolve();
                count();
              }
            : count,
      },
    });
  }
  await finished;
  const cpu = (cpuMicros() - cpuBefore) / total;
  const wall = ((performance.now() - started) * 1_000) / total;
  await bus.close();
  return [cpu, wall];
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const round1 = (value: number): number => Math.round(value * 10) / 10;

function readArgs(args: readonly string[]): { events: number; rounds: number } {
  const value = (name: string, fallback: number): number => {
    const index = args.indexOf(`--${name}`);
    const parsed = index < 0 ? fallback : Number(args[index + 1]);
    if (!Number.isInteger(parsed) || parsed < 1) {
      throw new Error(`--${name} needs a whole number of 1 or more (got ${String(args[index + 1])})`);
    }
    return parsed;
  };
  return { events: value('events', DEFAULT_EVENTS), rounds: value('rounds', DEFAULT_ROUNDS) };
}

/**
 * The bus's own cost per delivery: N events consumed through `memoryTransport` alone and through the bus
 * on it, in alternating order over several rounds (the machine may be shared), as CPU µs per delivery.
 * Arguments: `--events N` (default 20 000), `--rounds R` (default 5).
 */
export async function benchBus(args: readonly string[]): Promise<BusPathReport> {
  const { events, rounds } = readArgs(args);
  const load = round1(loadavg()[0] ?? 0);
  const messages = Array.from({ length: events }, (_, i) =>
    toTransportMessage(
      OrderPlaced.create(
        { orderId: `o-${i}`, customerId: `c-${i % 97}`, total: i % 500, currency: 'EUR' },
        { subject: `o-${i}` },
      ),
    ),
  );
  const ways: Way[] = ['transport', 'bus', 'bus-async', 'bus-middleware'];
  // A warm-up run of each way on a tenth of the events, so that all are measured optimised.
  for (const way of ways) await consumeAll(way, messages.slice(0, Math.ceil(events / 10)));
  const samples = new Map<Way, [number, number][]>(ways.map((way) => [way, []]));
  for (let round = 0; round < rounds; round += 1) {
    // Each round in another order: whoever runs first or after another's garbage is not always the same.
    const order = round % 2 === 0 ? ways : [...ways].reverse();
    for (const way of order) samples.get(way)?.push(await consumeAll(way, messages));
  }
  const cpu = (way: Way): number => median((samples.get(way) ?? []).map(([value]) => value));
  const wall = (way: Way): number => median((samples.get(way) ?? []).map(([, value]) => value));
  const alone = cpu('transport');
  const cases = (Object.keys(WAYS) as Exclude<Way, 'transport'>[]).map(
    (way): BusPathCase => ({
      name: WAYS[way],
      unit: 'CPU µs/delivery',
      tidings: round1(cpu(way)),
      peer: 'memoryTransport alone (consume + ack)',
      peer_value: round1(alone),
      ratio: Math.round((alone / cpu(way)) * 100) / 100,
      bus_us: round1(cpu(way) - alone),
      wall_us: round1(wall(way)),
    }),
  );
  console.log(
    `${events} events × ${rounds} rounds, load ${load} on ${availableParallelism()} CPUs; transport alone: ${round1(alone)} µs/delivery`,
  );
  for (const row of cases) {
    console.log(
      `  ${row.name.padEnd(56)} ${String(row.tidings).padStart(7)} µs  (bus adds ${row.bus_us} µs; wall ${row.wall_us} µs)`,
    );
  }
  return { events, rounds, node: process.version, cpus: availableParallelism(), load, cases };
}
