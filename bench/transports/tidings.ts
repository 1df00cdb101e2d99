import { createBus, type Transport, type TransportMessage, toTransportMessage } from '@tidings/core';
import {
  atRate,
  catalog,
  chunks,
  COUNTS,
  counter,
  latencyRecorder,
  makeEvent,
  readPayload,
  TOPIC,
  within,
} from './common.ts';

/** Makes a fresh transport of the broker under test, in the run's namespace. */
export type TransportFactory = () => Transport;

/** The longest any one drain may take before the case fails with a reason. */
const DRAIN_LIMIT_MS = 60_000;
const LEASE_MS = 30_000;
/** The consumer group of every Tidings case. */
export const BENCH_GROUP = 'bench';

const consumeOptions = (channel: string, concurrency: number) => ({
  channel,
  group: BENCH_GROUP,
  topics: [TOPIC],
  concurrency,
  ordered: false,
  leaseMs: LEASE_MS,
});

/**
 * Registers the bench group on `channel` (opens a consumer and closes it), so that what is published
 * next is kept for that group, as in an application whose consumers are deployed.
 */
async function registerGroup(transport: Transport, channel: string): Promise<void> {
  const consumer = await transport.consume(consumeOptions(channel, 1), async (delivery) => {
    await delivery.ack();
  });
  await consumer.close();
}

/** Time, in ms, of `transport.publish` of every message in runs of `batch`, one run awaited at a time. */
export async function tidingsPublish(
  create: TransportFactory,
  channel: string,
  messages: readonly TransportMessage[],
  batch: number,
): Promise<number> {
  const transport = create();
  try {
    await registerGroup(transport, channel);
    const runs = chunks(messages, batch);
    const started = performance.now();
    for (const run of runs) await transport.publish(channel, run);
    return performance.now() - started;
  } finally {
    await transport.close();
  }
}

/** Time, in ms, for a bus subscription (createBus + a handler) to handle and ack a backlog of `count`. */
export async function tidingsConsumeBus(
  create: TransportFactory,
  channel: string,
  count: number,
  concurrency: number,
): Promise<number> {
  const transport = create();
  const bus = createBus({ catalog, transport, channel });
  try {
    await registerGroup(transport, channel);
    await fill(transport, channel, count);
    const arrivals = counter(count);
    const started = performance.now();
    await bus.subscribe({
      group: BENCH_GROUP,
      concurrency,
      handlers: {
        OrderPlaced: (event) => {
          arrivals.seen(event.id);
        },
      },
    });
    await within(arrivals.done, DRAIN_LIMIT_MS, `the bus draining ${count} messages`);
    return performance.now() - started;
  } finally {
    await bus.close();
  }
}

/** Time, in ms, for a bare transport consumer (decode the body, ack) to drain a backlog of `count`. */
export async function tidingsConsumeBare(
  create: TransportFactory,
  channel: string,
  count: number,
  concurrency: number,
): Promise<number> {
  const transport = create();
  try {
    await registerGroup(transport, channel);
    await fill(transport, channel, count);
    const arrivals = counter(count);
    const started = performance.now();
    const consumer = await transport.consume(consumeOptions(channel, concurrency), async (delivery) => {
      readPayload(delivery.message.body);
      await delivery.ack();
      arrivals.seen(delivery.message.id);
    });
    await within(arrivals.done, DRAIN_LIMIT_MS, `the transport consumer draining ${count} messages`);
    const elapsed = performance.now() - started;
    await consumer.close();
    return elapsed;
  } finally {
    await transport.close();
  }
}

async function fill(transport: Transport, channel: string, count: number): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => makeEvent(i));
  for (const run of chunks(events.map(toTransportMessage), COUNTS.batch))
    await transport.publish(channel, run);
}

/** Publish→handler latency through the bus at `rate` per second: [p50, p99] in ms. */
export async function tidingsLatency(
  create: TransportFactory,
  channel: string,
  count: number,
  rate: number,
  concurrency: number,
): Promise<[number, number]> {
  const transport = create();
  const bus = createBus({ catalog, transport, channel });
  try {
    const sentAt = new Map<string, number>();
    const samples = latencyRecorder(sentAt);
    const arrivals = counter(count);
    await bus.subscribe({
      group: BENCH_GROUP,
      concurrency,
      handlers: {
        OrderPlaced: (event) => {
          samples.arrived(event.id);
          arrivals.seen(event.id);
        },
      },
    });
    const events = Array.from({ length: count }, (_, i) => makeEvent(i));
    await atRate(events, rate, (event) => bus.publish(event), sentAt);
    await within(arrivals.done, DRAIN_LIMIT_MS, `the bus receiving ${count} messages`);
    return [samples.p(50), samples.p(99)];
  } finally {
    await bus.close();
  }
}
