import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/**
 * A full garbage collection, run before each timed step: the sides take turns, and neither should pay
 * for collecting the other's garbage.
 */
export const collectGarbage = runInNewContext('gc') as () => void;

/** How much each case does at full size (the sizes); `--quick` runs a tenth of each. */
export const SIZES = {
  /** Case 1: this many new streams, each written by one append of {@link SIZES.perStream} events. */
  streams: 10_000,
  perStream: 10,
  /** Case 2: single-event appends to one stream, each expecting the version the previous one returned. */
  singles: 10_000,
  /** Case 3: the stream of case 2 is read whole this many times by each side; the median read counts. */
  readRepeats: 9,
  /** Case 4: events read through the global log, in pages of {@link SIZES.page}. */
  readAll: 100_000,
  page: 1_000,
  /** Case 5: events a projection is rebuilt from, one read-model transaction per batch of {@link SIZES.page}. */
  rebuild: 100_000,
} as const;

/** The sizes of one run. */
export type Sizes = { readonly [K in keyof typeof SIZES]: number };

/** The sizes scaled by `factor`; counts never drop below 1, repeats and pages stay as they are. */
export function scaled(factor: number): Sizes {
  const n = (count: number): number => Math.max(1, Math.round(count * factor));
  return {
    streams: n(SIZES.streams),
    perStream: SIZES.perStream,
    singles: n(SIZES.singles),
    readRepeats: SIZES.readRepeats,
    readAll: n(SIZES.readAll),
    page: SIZES.page,
    rebuild: n(SIZES.rebuild),
  };
}

/** The stream every single-event append of case 2 goes to, and that case 3 reads. */
export const SINGLE_STREAM = 'orders-single';
/** The stream of case 1's `i`-th append. */
export const streamOf = (i: number): string => `order-${i}`;

/**
 * The data both stores keep for each event: the same fields and the same JSON on both sides. (A type, not
 * an interface, so that it is a record to Emmett's `Event`.)
 */
export type OrderData = {
  readonly orderId: string;
  readonly customerId: string;
  readonly total: number;
  readonly currency: string;
  /** RFC 3339; its date is what the projection counts by. */
  readonly placedAt: string;
};

const START = Date.UTC(2025, 0, 1);
/** The `n`-th order: one every 37 s from 1 January 2025, so 100 000 of them span 43 days. */
export const orderData = (n: number): OrderData => ({
  orderId: `o-${n}`,
  customerId: `c-${n % 97}`,
  total: n % 500,
  currency: 'EUR',
  placedAt: new Date(START + n * 37_000).toISOString(),
});

/**
 * The projection's apply, the same for every side: how many orders each day of a batch holds. The
 * read model adds these counts to its rows, so a batch costs one upsert per day it touches.
 */
export function countByDay(orders: Iterable<OrderData>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const order of orders) {
    const day = order.placedAt.slice(0, 10);
    counts.set(day, (counts.get(day) ?? 0) + 1);
  }
  return counts;
}

/** The read model's name, its checkpoint's name and the upserts, in the SQL both SQLite and PostgreSQL take. */
export const READ_MODEL = {
  create: [
    'CREATE TABLE IF NOT EXISTS bench_orders_per_day (day TEXT PRIMARY KEY, orders BIGINT NOT NULL)',
    'CREATE TABLE IF NOT EXISTS bench_checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL)',
  ],
  /** Emptied before a rebuild, as a rebuild starts from nothing. */
  truncate: ['DELETE FROM bench_orders_per_day', 'DELETE FROM bench_checkpoints'],
  name: 'orders-per-day',
  total: 'SELECT CAST(coalesce(sum(orders), 0) AS TEXT) AS total FROM bench_orders_per_day',
} as const;

/** A throughput from a count and the milliseconds it took. */
export const perSecond = (count: number, ms: number): number => Math.round((count / ms) * 1000);

/** Runs `work` and returns how long it took, in ms. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Throws when a case did not do what it was meant to: a benchmark of wrong work measures nothing. */
export function expectCount(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: expected ${expected}, got ${actual}`);
}

/**
 * One store under test. Each method does one piece of a case's work and resolves with the milliseconds
 * its timed part took (the events are made before the clock starts), and throws when the outcome is
 * not the one asked for. The driver calls both sides in turns, so that a machine getting busier or
 * quieter during a case weighs on both alike.
 */
export interface StoreSide {
  /** Case 1: streams `first` to `first + streams - 1`, each new, written by one append of `perStream` events. */
  appendStreams(first: number, streams: number, perStream: number): Promise<number>;
  /** Case 2: `count` more single-event appends to {@link SINGLE_STREAM}, each expecting the last version. */
  appendSingles(count: number): Promise<number>;
  /** Case 3: reads {@link SINGLE_STREAM} whole once, checking it holds `length` events. */
  readStream(length: number): Promise<number>;
  /** Case 4: the first `count` events of the global log, `page` at a time. */
  readAll(count: number, page: number): Promise<number>;
  /** Case 5: the per-day read model rebuilt from the first `count` events, checked against its total. */
  rebuild(count: number, batch: number): Promise<number>;
  close(): Promise<void>;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** True while a descriptor of this process points at `path` or one of its WAL and shared-memory files. */
function openHere(path: string): boolean {
  try {
    return readdirSync('/proc/self/fd').some((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
      } catch {
        return false; // closed while we looked
      }
    });
  } catch {
    return false; // no /proc: nothing to wait for
  }
}

/**
 * A SQLite file in the temporary folder, and `cleanUp`, which removes it with its WAL and shared-memory
 * files once this process no longer has them open: sqlite3 (Emmett's driver) closes connections in the
 * background, and a file removed under a closing connection fails it with SQLITE_IOERR.
 */
export function scratchFile(name: string): { file: string; cleanUp: () => Promise<void> } {
  const file = join(tmpdir(), `tidings-bench-es-${name}-${process.pid}.db`);
  const remove = (): void => {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
  };
  remove();
  const cleanUp = async (): Promise<void> => {
    for (let polls = 0; polls < 500 && openHere(file); polls += 1) await setTimeout(10);
    remove();
  };
  return { file, cleanUp };
}
