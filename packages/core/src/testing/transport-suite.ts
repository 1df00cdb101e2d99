import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../clock.ts';
import { createBus } from '../bus.ts';
import type {
  ConsumeOptions,
  DeliveryHandler,
  Transport,
  TransportCapabilities,
  TransportConsumer,
} from '../transport.ts';
import { createLedger } from './ledger.ts';
import { createManualClock, type ManualClock } from './manual-clock.ts';
import { checkSuiteOptions, registerCases } from './suite-registration.ts';
import { attemptCounter } from './transport-cases/attempt-counter.ts';
import { busCrashLoop } from './transport-cases/bus-crash-loop.ts';
import { busFilters } from './transport-cases/bus-filters.ts';
import { busMalformed } from './transport-cases/bus-malformed.ts';
import { busNonError } from './transport-cases/bus-non-error.ts';
import { busRetryExhaustion } from './transport-cases/bus-retry-exhaustion.ts';
import { busSchemaFailure } from './transport-cases/bus-schema-failure.ts';
import { busTimeout } from './transport-cases/bus-timeout.ts';
import { busUnknownType } from './transport-cases/bus-unknown-type.ts';
import { closeAndResume } from './transport-cases/close-and-resume.ts';
import { closeTimeout } from './transport-cases/close-timeout.ts';
import { concurrencyLimit } from './transport-cases/concurrency-limit.ts';
import { concurrentPublishConsume } from './transport-cases/concurrent-publish-consume.ts';
import { consumerGroups } from './transport-cases/consumer-groups.ts';
import { crashRedelivery } from './transport-cases/crash-redelivery.ts';
import { deadLetterQuery } from './transport-cases/dead-letter-query.ts';
import { deadLetters } from './transport-cases/dead-letters.ts';
import { delayedRedelivery } from './transport-cases/delayed-redelivery.ts';
import { gracefulDrain } from './transport-cases/graceful-drain.ts';
import {
  type CaseContext,
  eventually,
  ParcelScanned,
  type SpawnConsumer,
  suiteCatalog,
  type SuiteTime,
  type TransportCase,
} from './transport-cases/harness.ts';
import { headerFidelity } from './transport-cases/header-fidelity.ts';
import { largePayload } from './transport-cases/large-payload.ts';
import { leaseExpiry } from './transport-cases/lease-expiry.ts';
import { leaseTouch } from './transport-cases/lease-touch.ts';
import { manyTopics } from './transport-cases/many-topics.ts';
import { noRedeliveryAfterAck } from './transport-cases/no-redelivery-after-ack.ts';
import { perSubjectOrderAfterNack } from './transport-cases/per-subject-order-after-nack.ts';
import { perSubjectOrder } from './transport-cases/per-subject-order.ts';
import { publishConsume } from './transport-cases/publish-consume.ts';
import { redeliveryAfterNack } from './transport-cases/redelivery-after-nack.ts';

/** Every transport-level case, in the order they run. */
export const transportCases: readonly TransportCase[] = Object.freeze([
  publishConsume,
  concurrentPublishConsume,
  manyTopics,
  redeliveryAfterNack,
  noRedeliveryAfterAck,
  closeAndResume,
  consumerGroups,
  perSubjectOrder,
  perSubjectOrderAfterNack,
  attemptCounter,
  delayedRedelivery,
  leaseExpiry,
  leaseTouch,
  gracefulDrain,
  closeTimeout,
  concurrencyLimit,
  headerFidelity,
  largePayload,
  deadLetters,
  deadLetterQuery,
  crashRedelivery,
]);

/** Every bus-level case: the bus's promises (retries, dead letters, filters) kept over this transport. */
export const busCases: readonly TransportCase[] = Object.freeze([
  busRetryExhaustion,
  busCrashLoop,
  busFilters,
  busNonError,
  busTimeout,
  busMalformed,
  busUnknownType,
  busSchemaFailure,
]);

/** The test framework's functions the suite registers with (vitest's, node:test's, jest's). */
export interface SuiteRunner {
  describe(name: string, fn: () => void | Promise<void>): unknown;
  test: SuiteTestFunction;
  /** Accepted so one runner object serves every suite; this suite cleans up inside each test. */
  beforeEach?: ((fn: () => unknown) => unknown) | undefined;
  afterEach?: ((fn: () => unknown) => unknown) | undefined;
}

/** `test(name, fn)`, with `test.skip` where the framework has one. */
export interface SuiteTestFunction {
  (name: string, fn: () => Promise<void>): unknown;
  skip?: ((name: string, fn: () => void) => unknown) | undefined;
}

/** What `create` gets for each test. */
export interface TransportSuiteContext {
  /** A channel no other test uses; cases publish and consume on it. */
  readonly channel: string;
  /** The clock the transport must run on: a fresh manual clock per test, or the system clock. */
  readonly clock: Clock;
  /** The case's name, for logs or per-test namespaces. */
  readonly testName: string;
}

/** A case the adapter cannot pass, with the reason printed in its place. */
export interface TransportSuiteSkip {
  /** The case name, exactly as the suite prints it. */
  readonly test: string;
  readonly reason: string;
}

/** Options of {@link describeTransportSuite}. */
export interface TransportSuiteOptions {
  /** The adapter's name, shown in the suite title. */
  name: string;
  /** Returns a fresh transport for one test, wired to `ctx.clock`; the suite closes it. */
  create(ctx: TransportSuiteContext): Transport | Promise<Transport>;
  /**
   * The capabilities that choose the cases; each test checks that the transport declares exactly these.
   * Default: read from one transport made while the suite is collected.
   */
  capabilities?: TransportCapabilities | undefined;
  skip?: readonly TransportSuiteSkip[] | undefined;
  /** `manual` when `create` passes `ctx.clock` to the transport, so time moves without waiting (default `system`). */
  clock?: 'manual' | 'system' | undefined;
  /** Starts a consumer in a child process, for the SIGKILL case; without it that case is skipped. */
  spawnConsumer?: SpawnConsumer | undefined;
}

/** How long teardown nudges a manual clock while waiting for `close()`. */
const TEARDOWN_STEPS = 120;

/**
 * Registers the transport conformance suite: one test per behaviour of the transport contract, then
 * the bus's promises over the same transport, chosen by its declared capabilities; every test ends with
 * the ledger check. A skipped case is registered with its reason in its name. The runner's `describe`
 * must accept an async body (vitest and node:test do) unless `capabilities` is given.
 *
 * @example
 * import { describe, test } from 'vitest';
 * describeTransportSuite({ describe, test }, {
 *   name: 'memory',
 *   clock: 'manual',
 *   create: ({ clock }) => memoryTransport({ clock }),
 *   skip: [{ test: 'redelivers what a consumer killed with SIGKILL was handling', reason: 'in-process transport' }],
 * });
 */
export function describeTransportSuite(runner: SuiteRunner, options: TransportSuiteOptions): void {
  checkOptions(runner, options);
  runner.describe(`transport conformance: ${options.name}`, async () => {
    const capabilities = options.capabilities ?? (await probe(options));
    const features = { spawnConsumer: options.spawnConsumer !== undefined };
    for (const [title, cases] of [
      ['transport', transportCases],
      ['bus over the transport', busCases],
    ] as const) {
      runner.describe(title, () => {
        registerCases(
          runner,
          cases,
          (transportCase) =>
            options.skip?.find((skip) => skip.test === transportCase.name)?.reason ??
            transportCase.skipReason?.(capabilities, features),
          (transportCase) => runCase(transportCase, capabilities, options),
        );
      });
    }
  });
}

function checkOptions(runner: SuiteRunner, options: TransportSuiteOptions): void {
  checkSuiteOptions(
    'describeTransportSuite',
    runner,
    options,
    [...transportCases, ...busCases].map((transportCase) => transportCase.name),
    'a fresh transport',
  );
}

async function probe(options: TransportSuiteOptions): Promise<TransportCapabilities> {
  const transport = await options.create({
    channel: channelFor('probe'),
    clock: systemClock,
    testName: 'probe',
  });
  try {
    return transport.capabilities;
  } finally {
    await transport.close();
  }
}

function channelFor(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  return `suite-${slug}-${randomUUID().slice(0, 8)}`;
}

async function runCase(
  transportCase: TransportCase,
  capabilities: TransportCapabilities,
  options: TransportSuiteOptions,
): Promise<void> {
  const manual = options.clock === 'manual' ? createManualClock() : undefined;
  const channel = channelFor(transportCase.name);
  const transport = await options.create({
    channel,
    clock: manual ?? systemClock,
    testName: transportCase.name,
  });
  const consumers: TransportConsumer[] = [];
  const busErrors: unknown[] = [];
  let failure: { error: unknown } | undefined;
  try {
    assert.deepEqual(
      { ...transport.capabilities },
      { ...capabilities },
      'the transport declares other capabilities than the suite chose its cases by',
    );
    const ledger = createLedger(transport);
    // Every consumer, the bus's too, is released at the end, so that a hung handler cannot stall teardown.
    const tracked: Transport = Object.freeze({
      ...ledger.transport,
      async consume(consumeOptions: ConsumeOptions, handler: DeliveryHandler) {
        const consumer = await ledger.transport.consume(consumeOptions, handler);
        consumers.push(consumer);
        return consumer;
      },
    });
    const clock = manual ?? systemClock;
    const suffix = channel.slice(-8);
    const t: CaseContext = {
      transport: tracked,
      channel,
      capabilities,
      clock,
      time: suiteTime(manual),
      ledger,
      unique: (name) => `${name}-${suffix}`,
      consume: (consumeOptions, handler) =>
        tracked.consume(
          {
            channel,
            topics: [ParcelScanned.type],
            concurrency: 1,
            ordered: false,
            leaseMs: 30_000,
            ...consumeOptions,
          },
          handler,
        ),
      publish: (...messages) => tracked.publish(channel, messages),
      bus: (busOptions = {}) =>
        createBus({
          onError: (error) => busErrors.push(error),
          ...busOptions,
          catalog: suiteCatalog,
          transport: tracked,
          channel,
          clock,
        }),
      spawnConsumer: options.spawnConsumer,
    };
    await transportCase.run(t);
    ledger.assertConsistent(capabilities);
    assert.deepEqual(busErrors, [], 'the bus reported errors');
  } catch (error) {
    failure = { error };
  }
  // Released, not drained: the case is over, and a handler it left hanging must not block teardown.
  await untilSettled(Promise.allSettled(consumers.map((c) => c.close({ timeoutMs: 0 }))), manual);
  const closed = untilSettled(transport.close(), manual);
  // The case's own failure says more than a close that failed because of it.
  if (failure !== undefined) {
    await closed.catch(() => undefined);
    throw failure.error;
  }
  await closed;
}

function suiteTime(manual: ManualClock | undefined): SuiteTime {
  const turns = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  if (manual !== undefined) {
    return {
      manual: true,
      now: () => manual.now(),
      advance: (ms) => manual.advance(ms),
      idle: async () => {
        await manual.advance(0);
        await turns();
      },
      pick: (manualMs) => manualMs,
      async until(predicate, { stepMs, maxSteps = 1_000, what }) {
        for (let step = 0; !(await predicate()); step += 1) {
          if (step >= maxSteps) {
            const text = typeof what === 'function' ? what() : (what ?? 'the condition');
            throw new Error(
              `Advanced the clock ${maxSteps} times by ${stepMs} ms waiting for ${text}, in vain.`,
            );
          }
          await manual.advance(stepMs);
        }
      },
    };
  }
  return {
    manual: false,
    now: () => Date.now(),
    advance: (ms) => wait(ms),
    idle: () => wait(200),
    pick: (_manualMs, realMs) => realMs,
    until: (predicate, { timeoutMs, what }) =>
      eventually(predicate, { timeoutMs: timeoutMs ?? 10_000, ...(what === undefined ? {} : { what }) }),
  };
}

/** Waits for `work`; on a manual clock, moves time meanwhile so that timeouts inside it can fire. */
async function untilSettled(work: Promise<unknown>, manual: ManualClock | undefined): Promise<void> {
  let done = false;
  const settled = work.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  if (manual !== undefined) {
    for (let step = 0; step < TEARDOWN_STEPS && !done; step += 1) await manual.advance(1_000);
  }
  await settled;
  await work;
}
