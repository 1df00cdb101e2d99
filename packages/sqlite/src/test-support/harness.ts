/** Test helpers for @tidings/sqlite (not part of the build). */
import type { ConsumeOptions, Delivery, TransportMessage } from '@tidings/core';
import { createManualClock } from '@tidings/core/testing';
import type { ManualClock } from '@tidings/core/testing';
import { sqliteTransport } from '../transport.ts';
import type { SqliteTransport } from '../transport.ts';
import type { SqliteErrorContext, SqliteTransportOptions } from '../options.ts';

export { createManualClock };

/** One turn of the event loop: lets consumers claim, handlers run and ack batches commit. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs event-loop turns until `condition` holds; fails after `turns` of them (no wall-clock waits). */
export async function until(condition: () => boolean, what = 'condition', turns = 200): Promise<void> {
  for (let i = 0; i < turns; i += 1) {
    if (condition()) return;
    await turn();
  }
  throw new Error(`still waiting for ${what} after ${turns} event-loop turns`);
}

/** Lets the system settle: enough turns for any claim, handler and commit that can happen, to happen. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i += 1) await turn();
}

/** Waits in real time for a condition, for tests where another process or connection does the work. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const encoder = new TextEncoder();

/** A message with sensible defaults. */
export function message(id: string, init: Partial<Omit<TransportMessage, 'id'>> = {}): TransportMessage {
  return {
    id,
    topic: init.topic ?? 'OrderPlaced',
    key: init.key,
    headers: init.headers ?? { 'ce-id': id, 'content-type': 'application/json' },
    body: init.body ?? encoder.encode(JSON.stringify({ id })),
  };
}

export const text = (body: Uint8Array): string => new TextDecoder().decode(body);

/** A handler that records each delivery and leaves settling to the test (or to `then`). */
export function recorder(then?: (delivery: Delivery) => Promise<void> | void): {
  seen: Delivery[];
  handler: (delivery: Delivery) => Promise<void>;
} {
  const seen: Delivery[] = [];
  return {
    seen,
    handler: async (delivery) => {
      seen.push(delivery);
      await then?.(delivery);
    },
  };
}

export interface Harness {
  readonly clock: ManualClock;
  readonly transport: SqliteTransport;
  readonly errors: { error: unknown; context: SqliteErrorContext }[];
  consumeOptions: (overrides?: Partial<ConsumeOptions>) => ConsumeOptions;
  count: (sql: string, ...params: unknown[]) => number;
}

/** A fresh in-memory transport on a manual clock, recording the errors its loops survive. */
export function harness(options: Partial<SqliteTransportOptions> = {}): Harness {
  const clock = createManualClock();
  const errors: Harness['errors'] = [];
  const transport = sqliteTransport({
    file: ':memory:',
    clock,
    onError: (error, context) => errors.push({ error, context }),
    ...options,
  } as SqliteTransportOptions);
  return {
    clock,
    transport,
    errors,
    consumeOptions: (overrides = {}) => ({
      channel: 'orders',
      group: 'billing',
      topics: ['OrderPlaced'],
      concurrency: 4,
      ordered: false,
      leaseMs: 30_000,
      ...overrides,
    }),
    count: (sql, ...params) =>
      transport.database
        .prepare<unknown[], number>(sql)
        .pluck()
        .get(...params) ?? 0,
  };
}
