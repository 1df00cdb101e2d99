import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Bus, BusOptions } from '../../bus.ts';
import { createCatalog } from '../../catalog.ts';
import type { Clock } from '../../clock.ts';
import { defineEvent, type EventDefinition } from '../../define-event.ts';
import { toTransportMessage } from '../../message.ts';
import type {
  ConsumeOptions,
  DeliveryHandler,
  FailureRecord,
  Transport,
  TransportCapabilities,
  TransportConsumer,
  TransportMessage,
} from '../../transport.ts';
import type { Ledger } from '../ledger.ts';

/** How a case moves time: a manual clock when the transport takes one, real time otherwise. */
export interface SuiteTime {
  /** True when the transport runs on the suite's manual clock. */
  readonly manual: boolean;
  now(): number;
  /** Moves time forward: advances the manual clock, or waits that long in real time. */
  advance(ms: number): Promise<void>;
  /**
   * Lets pending work run before asserting that something did NOT happen: a few event-loop turns on
   * the manual clock, a short real wait otherwise.
   */
  idle(): Promise<void>;
  /** A duration for this mode: long ones cost nothing on the manual clock, short ones keep real runs fast. */
  pick(manualMs: number, realMs: number): number;
  /**
   * Waits until `predicate` holds while time passes: steps the manual clock by `stepMs` (up to
   * `maxSteps` times), or polls in real time (up to `timeoutMs`, default 10 s). For work that needs
   * several timers to fire in turn, such as retries with backoff.
   */
  until(
    predicate: () => boolean | Promise<boolean>,
    options: { stepMs: number; maxSteps?: number; timeoutMs?: number; what?: string | (() => string) },
  ): Promise<void>;
}

/** What `spawnConsumer` is asked for: a consumer in another process that never settles its deliveries. */
export interface SpawnConsumerOptions {
  readonly channel: string;
  readonly group: string;
  readonly topics: readonly string[];
  readonly concurrency: number;
  readonly leaseMs: number;
}

/** A consumer running in a child process, started by the adapter's own test. */
export interface SpawnedConsumer {
  /** Resolves with the message ids the child is handling, once it handles at least `count`. */
  holding(count: number): Promise<readonly string[]>;
  /** Kills the child with SIGKILL, mid-handler, and resolves once it has exited. */
  kill(): Promise<void>;
}

/** Starts a consumer in a child process; resolves once it is consuming. */
export type SpawnConsumer = (options: SpawnConsumerOptions) => Promise<SpawnedConsumer>;

/** Consume options a case gives; the rest default to the case's channel, one at a time, unordered. */
export type CaseConsumeOptions = Partial<Omit<ConsumeOptions, 'channel' | 'group'>> & {
  readonly group: string;
};

/** The events of the bus cases. */
export type SuiteEvents = readonly [typeof ParcelScanned, typeof ParcelLost];

/** Options a bus case may give; the catalog, transport, channel and clock come from the case. */
export type CaseBusOptions = Omit<BusOptions<SuiteEvents>, 'catalog' | 'transport' | 'channel' | 'clock'>;

/** What every case receives. */
export interface CaseContext {
  /** The transport under test, recorded by the ledger. */
  readonly transport: Transport;
  /** A channel of this test alone. */
  readonly channel: string;
  readonly capabilities: TransportCapabilities;
  /** The clock the transport runs on. */
  readonly clock: Clock;
  readonly time: SuiteTime;
  readonly ledger: Ledger;
  /** A name unique to this test, for groups that must not meet another test's (dead letters span channels). */
  unique(name: string): string;
  /** Consumes on the case's channel (topics default to ParcelScanned); closed when the case ends. */
  consume(options: CaseConsumeOptions, handler: DeliveryHandler): Promise<TransportConsumer>;
  /** Publishes in one call to the case's channel. */
  publish(...messages: TransportMessage[]): Promise<void>;
  /**
   * A bus over the case's transport and channel, with the suite's catalog and clock. Do not close it:
   * closing a bus closes its transport, which the suite does after the ledger check. Errors the bus
   * reports through `onError` fail the case unless the case passes its own `onError`.
   */
  bus(options?: CaseBusOptions): Bus<SuiteEvents>;
  readonly spawnConsumer: SpawnConsumer | undefined;
}

/** One behaviour of the contract. */
export interface TransportCase {
  /** A sentence about the behaviour; also the name to use in a `skip` entry. */
  readonly name: string;
  /** Why the case cannot apply to a transport with these capabilities; `undefined` when it applies. */
  readonly skipReason?: (
    capabilities: TransportCapabilities,
    features: { readonly spawnConsumer: boolean },
  ) => string | undefined;
  run(t: CaseContext): Promise<void>;
}

/** The data of every suite event. */
export interface ParcelData {
  readonly n: number;
  readonly note?: string;
}

const parcelSchema: StandardSchemaV1<ParcelData> = {
  '~standard': {
    version: 1,
    vendor: 'tidings-testing',
    validate: (value) => {
      const data = value as Partial<ParcelData> | null;
      const ok =
        typeof data === 'object' &&
        data !== null &&
        typeof data.n === 'number' &&
        (data.note === undefined || typeof data.note === 'string');
      return ok
        ? { value: data as ParcelData }
        : { issues: [{ message: 'expected { n: number, note?: string }' }] };
    },
  },
};

/** Defines a suite event type with `{ n, note? }` data; the core cannot depend on zod, hence the hand-made schema. */
export function defineParcelEvent<const T extends string>(type: T): EventDefinition<T, ParcelData> {
  return defineEvent({ type, schema: parcelSchema, source: 'urn:tidings:transport-suite' });
}

/** The event most cases publish. */
export const ParcelScanned = defineParcelEvent('ParcelScanned');
/** A second type, for cases about topics and patterns. */
export const ParcelLost = defineParcelEvent('ParcelLost');
/** The catalog of the bus cases. */
export const suiteCatalog = createCatalog({ events: [ParcelScanned, ParcelLost] });

/** A transport message of a fresh suite event. */
export function parcel(
  n: number,
  options: { subject?: string; note?: string; definition?: EventDefinition<string, ParcelData> } = {},
): TransportMessage {
  const definition = options.definition ?? ParcelScanned;
  const data: ParcelData = options.note === undefined ? { n } : { n, note: options.note };
  return toTransportMessage(definition.create(data, { subject: options.subject }));
}

/** A failure record as the bus would write it. */
export function sampleFailure(at: number, overrides: Partial<FailureRecord> = {}): FailureRecord {
  return {
    handler: 'chargeCard',
    error: {
      name: 'Error',
      message: 'card declined ✗',
      stack: 'Error: card declined ✗\n    at chargeCard',
      code: 'E_DECLINED',
    },
    attempts: 3,
    firstFailedAt: at - 1_000,
    lastFailedAt: at,
    fingerprint: 'Error:card declined:chargeCard',
    reason: 'exhausted',
    ...overrides,
  };
}

/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** Real milliseconds to keep trying (default 10 000). */
  timeoutMs?: number;
  /** Says what was awaited, and how far it got, when time runs out. */
  what?: string | (() => string);
}

/**
 * Waits until `predicate` holds, polling on event-loop turns and then every few milliseconds; throws
 * when `timeoutMs` of real time pass first. Never a fixed sleep: it returns as soon as it can.
 *
 * @example
 * await eventually(() => received.size === 100, { what: () => `${received.size} of 100 received` });
 */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  options: EventuallyOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (let polls = 0; ; polls += 1) {
    if (await predicate()) return;
    if (Date.now() > deadline) {
      const what = typeof options.what === 'function' ? options.what() : (options.what ?? 'the condition');
      throw new Error(`Waited ${timeoutMs} ms for ${what}, and it did not happen.`);
    }
    // Fast turns first: in-process transports settle within a few; then back off for real brokers.
    await new Promise<void>((resolve) => (polls < 50 ? setImmediate(resolve) : setTimeout(resolve, 5)));
  }
}

/** A promise with its resolver, for handlers that must wait for the test to let them go. */
export interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** The bytes of a message body as a Buffer view, for comparisons. */
export function bytes(message: TransportMessage): Buffer {
  return Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
}
