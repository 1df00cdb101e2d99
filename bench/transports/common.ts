import {
  createCatalog,
  defineEvent,
  type EventOf,
  type TransportMessage,
  toTransportMessage,
} from '@tidings/core';
import { z } from 'zod';

/** The one event every case publishes: the same bytes go through Tidings and through the raw client. */
export const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), customerId: z.string(), total: z.number(), currency: z.string() }),
});
/** The catalog of the bus cases. */
export const catalog = createCatalog({ events: [OrderPlaced] });
/** The event type, which is also the transport topic. */
export const TOPIC = OrderPlaced.type;

/** How many messages each case moves; the warm-up runs every case once on a tenth of them first. */
export const COUNTS = {
  /** Published in batches of {@link COUNTS.batch}. */
  publishBatched: 5_000,
  batch: 100,
  /** Published one at a time, each awaited. */
  publishSingle: 1_000,
  /** The backlog each consumer (bus, bare transport consumer, raw client) drains. */
  consume: 5_000,
  /** Unsettled deliveries per consumer (Tidings concurrency, raw prefetch or fetch size). */
  concurrency: 100,
  /** Publish→handler latency: a fixed rate for a fixed time. */
  latencyRate: 500,
  latencySeconds: 3,
  /** Redis only: jobs processed by BullMQ's Worker and by a Tidings group, both with concurrency 50. */
  jobs: 5_000,
  jobConcurrency: 50,
} as const;
/** The rounds of a broker's run: the warm-up, then the measured one. */
export const ROUNDS = ['warm', 'run'] as const;
/** What each case's streams, tables, queues or channels are called, per round. */
export const STREAMS = ['pub100', 'pub1', 'consume', 'bus', 'bare', 'latency', 'jobs'] as const;
/** The stream (raw) or channel (Tidings) of a case in a round. */
export const streamName = (what: (typeof STREAMS)[number], round: (typeof ROUNDS)[number]): string =>
  `${what}-${round}`;

/** The fraction of each count the warm-up round moves before the measured round. */
export const WARM_UP = 0.1;

/** A fresh event of the catalog; `n` makes ids, subjects and totals differ. */
export const makeEvent = (n: number): EventOf<typeof OrderPlaced> =>
  OrderPlaced.create(
    { orderId: `o-${n}`, customerId: `c-${n % 97}`, total: n % 500, currency: 'EUR' },
    { subject: `o-${n}` },
  );

let made = 0;
/** `count` messages of fresh events, as the bus would hand them to the transport. */
export function makeMessages(count: number): TransportMessage[] {
  return Array.from({ length: count }, () => {
    made += 1;
    return toTransportMessage(makeEvent(made));
  });
}

/** Splits a list into runs of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Reads what a handler would read: the headers and the JSON body (so no side skips decoding). */
export function readPayload(body: Uint8Array | string): unknown {
  return JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
}

/** A promise with its settle functions outside, for "resolve when the n-th message arrived". */
export function deferred(): {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
} {
  let resolve: () => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Counts arrivals and resolves `done` at `target`; ids seen twice are counted once. */
export function counter(target: number): {
  seen: (id: string) => void;
  done: Promise<void>;
  count: () => number;
} {
  const ids = new Set<string>();
  const finished = deferred();
  if (target === 0) finished.resolve();
  return {
    seen: (id) => {
      ids.add(id);
      if (ids.size === target) finished.resolve();
    },
    done: finished.promise,
    count: () => ids.size,
  };
}

/** Rejects when `promise` takes longer than `ms`, so a stuck consumer ends the case with a reason. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Messages per second. */
export const perSecond = (count: number, ms: number): number => Math.round((count / ms) * 1000);

/** The p-th percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * Publishes `items` at a steady `rate` per second and records in `sentAt` when each was sent. Publishes
 * are not awaited one by one (as requests of a busy app are not), so a commit slower than the
 * interval does not lower the rate; all of them are awaited at the end.
 */
export async function atRate<T extends { readonly id: string }>(
  items: readonly T[],
  rate: number,
  publish: (item: T) => Promise<void>,
  sentAt: Map<string, number>,
): Promise<void> {
  const interval = 1000 / rate;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  for (const [i, item] of items.entries()) {
    const wait = start + i * interval - performance.now();
    if (wait > 0.5) await new Promise((resolve) => setTimeout(resolve, wait));
    sentAt.set(item.id, performance.now());
    // Caught at once: a rejection must not go unhandled while later publishes are still scheduled.
    pending.push(
      publish(item).catch((error: unknown) => {
        failure ??= { error };
      }),
    );
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure.error;
}

/** Latency samples of a run, in ms, from `sentAt` to arrival. */
export function latencyRecorder(sentAt: Map<string, number>): {
  arrived: (id: string) => void;
  p: (pct: number) => number;
} {
  const samples: number[] = [];
  let sorted = false;
  return {
    arrived: (id) => {
      const sent = sentAt.get(id);
      if (sent !== undefined) samples.push(performance.now() - sent);
      sorted = false;
    },
    p: (pct) => {
      if (!sorted) samples.sort((a, b) => a - b);
      sorted = true;
      return percentile(samples, pct);
    },
  };
}
