import type { TransportMessage } from '@tidings/core';
import { atRate, chunks, COUNTS, counter, latencyRecorder, makeMessages, within } from './common.ts';
import type { RawClient } from './raw.ts';

const DRAIN_LIMIT_MS = 60_000;

/** Time, in ms, of the raw client publishing every message in runs of `batch`, one run awaited at a time. */
export async function rawPublish(
  raw: RawClient,
  stream: string,
  messages: readonly TransportMessage[],
  batch: number,
): Promise<number> {
  const runs = chunks(messages, batch);
  const started = performance.now();
  for (const run of runs) await raw.publish(stream, run);
  return performance.now() - started;
}

/** Time, in ms, for the raw consumer to read and ack a backlog of `count` published beforehand. */
export async function rawConsume(
  raw: RawClient,
  stream: string,
  count: number,
  concurrency: number,
): Promise<number> {
  for (const run of chunks(makeMessages(count), COUNTS.batch)) await raw.publish(stream, run);
  const arrivals = counter(count);
  const started = performance.now();
  const consumer = await raw.consume(stream, concurrency, arrivals.seen);
  try {
    await within(arrivals.done, DRAIN_LIMIT_MS, `the raw consumer draining ${count} messages`);
    return performance.now() - started;
  } finally {
    await consumer.stop();
  }
}

/** Publish→handler latency of the raw client at `rate` per second: [p50, p99] in ms. */
export async function rawLatency(
  raw: RawClient,
  stream: string,
  count: number,
  rate: number,
  concurrency: number,
): Promise<[number, number]> {
  const sentAt = new Map<string, number>();
  const samples = latencyRecorder(sentAt);
  const arrivals = counter(count);
  const consumer = await raw.consume(stream, concurrency, (id) => {
    samples.arrived(id);
    arrivals.seen(id);
  });
  try {
    await atRate(makeMessages(count), rate, (message) => raw.publish(stream, [message]), sentAt);
    await within(arrivals.done, DRAIN_LIMIT_MS, `the raw consumer receiving ${count} messages`);
    return [samples.p(50), samples.p(99)];
  } finally {
    await consumer.stop();
  }
}
