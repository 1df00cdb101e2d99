import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Catalog } from '../catalog.ts';
import { type Clock, systemClock } from '../clock.ts';
import type {
  EventStore,
  EventStoreCapabilities,
  GlobalPosition,
  RecordedEvent,
} from '../event-store/types.ts';
import { createManualClock, type ManualClock } from './manual-clock.ts';
import { appendRead } from './store-cases/append-read.ts';
import { badInput, closedStore } from './store-cases/bad-input.ts';
import { commandHandling } from './store-cases/deciders.ts';
import { expectedVersion, expectedVersionRace } from './store-cases/expected-version.ts';
import { globalOrder } from './store-cases/global-order.ts';
import {
  MarkerPlaced,
  type StoreCase,
  type StoreCaseContext,
  storeSuiteCatalog,
} from './store-cases/harness.ts';
import { concurrentRetries, idempotentRetry } from './store-cases/idempotent-retry.ts';
import { listStreams } from './store-cases/list-streams.ts';
import { tombstone, truncateAndSoftDelete } from './store-cases/metadata.ts';
import { readAllPaging } from './store-cases/read-all.ts';
import { readStreamWindow } from './store-cases/read-stream-window.ts';
import { snapshotKeys, snapshotsEqualReplay } from './store-cases/snapshots.ts';
import { subscriptionCheckpoints } from './store-cases/subscriptions.ts';
import { temporalReads } from './store-cases/temporal.ts';
import { unreadableEvents, upcasting } from './store-cases/upcasting.ts';
import {
  asyncProjections,
  blueGreenProjections,
  inlineProjections,
  projectionDeadLetters,
  rebuildEqualsIncremental,
  unreadableForProjections,
} from './store-cases/projections.ts';
import { checkSuiteOptions, registerCases } from './suite-registration.ts';
import type { Projection } from '../event-store/projection.ts';
import type { SuiteRunner } from './transport-suite.ts';

/** Every event store case, in the order they run. */
export const storeCases: readonly StoreCase[] = Object.freeze([
  appendRead,
  readStreamWindow,
  expectedVersion,
  expectedVersionRace,
  idempotentRetry,
  concurrentRetries,
  globalOrder,
  readAllPaging,
  subscriptionCheckpoints,
  temporalReads,
  upcasting,
  unreadableEvents,
  truncateAndSoftDelete,
  tombstone,
  listStreams,
  snapshotsEqualReplay,
  snapshotKeys,
  commandHandling,
  inlineProjections,
  asyncProjections,
  rebuildEqualsIncremental,
  projectionDeadLetters,
  blueGreenProjections,
  unreadableForProjections,
  badInput,
  closedStore,
]);

/** What `create` gets for each test. */
export interface EventStoreSuiteContext {
  /** The catalog the store must read through: the suite's events, one with an upcaster. */
  readonly catalog: Catalog;
  /** The clock the store must record times with: a fresh manual clock per test, or the system clock. */
  readonly clock: Clock;
  /** The case's name, for logs or per-test namespaces. */
  readonly testName: string;
  /** Inline projections the store must apply in its appends (pass them on as `projections`). */
  readonly projections?: readonly Projection[] | undefined;
}

/** A case the store cannot pass, with the reason printed in its place. */
export interface EventStoreSuiteSkip {
  /** The case name, exactly as the suite prints it. */
  readonly test: string;
  readonly reason: string;
}

/** Options of {@link describeEventStoreSuite}. */
export interface EventStoreSuiteOptions {
  /** The store's name, shown in the suite title. */
  name: string;
  /** Returns a fresh store for one test, reading through `ctx.catalog` and recording with `ctx.clock`; the suite closes it. */
  create(ctx: EventStoreSuiteContext): EventStore | Promise<EventStore>;
  /** The capabilities the store must declare; default: whatever it declares. */
  capabilities?: EventStoreCapabilities | undefined;
  skip?: readonly EventStoreSuiteSkip[] | undefined;
  /** `manual` when `create` passes `ctx.clock` to the store, so time moves without waiting (default `system`). */
  clock?: 'manual' | 'system' | undefined;
}

/**
 * Registers the event store conformance suite: one test per behaviour of the `EventStore` contract
 * (appends and every expected-version mode under concurrency, idempotent retries, one global order
 * under concurrent writers, subscriptions resuming from `store.checkpoints`, temporal reads, upcasting,
 * metadata, stream listing, snapshots, deciders, bad input). A
 * skipped case is registered with its reason in its name. Stores that share storage between tests (a
 * database server) pass too: every case works in streams of its own and reads `readAll` after a
 * marker it appends.
 *
 * @example
 * import { describe, test } from 'vitest';
 * describeEventStoreSuite({ describe, test }, {
 *   name: 'memory',
 *   clock: 'manual',
 *   create: ({ catalog, clock }) => memoryEventStore({ catalog, clock }),
 * });
 */
export function describeEventStoreSuite(runner: SuiteRunner, options: EventStoreSuiteOptions): void {
  checkOptions(runner, options);
  runner.describe(`event store conformance: ${options.name}`, () => {
    const declared = options.capabilities;
    registerCases(
      runner,
      storeCases,
      (storeCase) =>
        options.skip?.find((skip) => skip.test === storeCase.name)?.reason ??
        (declared === undefined ? undefined : storeCase.skipReason?.(declared)),
      (storeCase) => runCase(storeCase, options),
    );
  });
}

function checkOptions(runner: SuiteRunner, options: EventStoreSuiteOptions): void {
  checkSuiteOptions(
    'describeEventStoreSuite',
    runner,
    options,
    storeCases.map((storeCase) => storeCase.name),
    'a fresh store',
  );
}

async function runCase(storeCase: StoreCase, options: EventStoreSuiteOptions): Promise<void> {
  const manual = options.clock === 'manual' ? createManualClock() : undefined;
  const clock = manual ?? systemClock;
  const store = await options.create({ catalog: storeSuiteCatalog, clock, testName: storeCase.name });
  const prefix = `suite-${randomUUID().slice(0, 8)}-`;
  const opened: EventStore[] = [];
  try {
    if (options.capabilities !== undefined) {
      assert.deepEqual(
        { ...store.capabilities },
        { ...options.capabilities },
        'the store declares other capabilities',
      );
    }
    const t: StoreCaseContext = {
      store,
      capabilities: store.capabilities,
      clock,
      stream: (name) => `${prefix}${name}`,
      tick: () => tick(manual),
      async mark(): Promise<GlobalPosition> {
        const result = await store.append(`${prefix}marker`, [MarkerPlaced.create({ test: storeCase.name })]);
        return result.position;
      },
      readOwn: (after, pageSize) => readOwn(store, prefix, after, pageSize ?? 100),
      async open({ projections }) {
        const another = await options.create({
          catalog: storeSuiteCatalog,
          clock,
          testName: storeCase.name,
          projections,
        });
        opened.push(another);
        return another;
      },
    };
    await storeCase.run(t);
  } finally {
    for (const another of opened) await another.close();
    await store.close();
  }
}

async function tick(manual: ManualClock | undefined): Promise<void> {
  if (manual !== undefined) {
    await manual.advance(1_000);
    return;
  }
  // Waits for the wall clock to pass the next millisecond: polling, so never longer than needed.
  const start = Date.now();
  while (Date.now() <= start + 1) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function readOwn(
  store: EventStore,
  prefix: string,
  after: GlobalPosition,
  pageSize: number,
): Promise<RecordedEvent[]> {
  const own: RecordedEvent[] = [];
  let position = after;
  for (let pages = 0; pages < 100_000; pages += 1) {
    const page = await store.readAll({ after: position, limit: pageSize });
    for (const event of page.events) {
      if (event.stream.startsWith(prefix) && event.type !== MarkerPlaced.type) own.push(event);
    }
    position = page.position;
    if (page.caughtUp) return own;
  }
  throw new Error('readAll never caught up');
}
