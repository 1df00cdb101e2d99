import type { StandardSchemaV1 } from '@standard-schema/spec';
import { createCatalog } from '../../catalog.ts';
import type { Clock } from '../../clock.ts';
import { defineEvent, upcaster } from '../../define-event.ts';
import type { Event } from '../../envelope.ts';
import type { Projection } from '../../event-store/projection.ts';
import type {
  EventStore,
  EventStoreCapabilities,
  GlobalPosition,
  RecordedEvent,
} from '../../event-store/types.ts';

/** What every store case receives. */
export interface StoreCaseContext {
  /** The store under test, made with the suite's catalog and clock. */
  readonly store: EventStore;
  readonly capabilities: EventStoreCapabilities;
  readonly clock: Clock;
  /** A stream name no other test uses. */
  stream(name: string): string;
  /**
   * Moves time forward so that the next append is recorded strictly later than the last one: advances
   * the manual clock, or waits (polling, no fixed sleep) until the wall clock has moved.
   */
  tick(): Promise<void>;
  /** A position just before this test's events: a marker appended now; read `after` it. */
  mark(): Promise<GlobalPosition>;
  /** Every event after `after` in this test's streams, read page by page through `readAll`. */
  readOwn(after: GlobalPosition, pageSize?: number): Promise<RecordedEvent[]>;
  /** Another store from the suite's `create`, with inline projections; closed after the case. */
  open(options: { readonly projections: readonly Projection[] }): Promise<EventStore>;
}

/** One behaviour of the event store contract. */
export interface StoreCase {
  /** A sentence about the behaviour; also the name to use in a `skip` entry. */
  readonly name: string;
  /** Why the case cannot apply to a store with these capabilities; `undefined` when it applies. */
  readonly skipReason?: (capabilities: EventStoreCapabilities) => string | undefined;
  run(t: StoreCaseContext): Promise<void>;
}

function schema<T>(check: (value: Record<string, unknown>) => boolean, shape: string): StandardSchemaV1<T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'tidings-testing',
      validate: (value) =>
        typeof value === 'object' && value !== null && check(value as Record<string, unknown>)
          ? { value: value as T }
          : { issues: [{ message: `expected ${shape}` }] },
    },
  };
}

/** Data of {@link FundsDeposited} at version 2. */
export interface DepositData {
  readonly amount: number;
  readonly currency: string;
}

/** Version 1 had no currency; reading it through the catalog adds `EUR`. */
export const FundsDeposited = defineEvent({
  type: 'FundsDeposited',
  version: 2,
  source: 'urn:tidings:store-suite',
  schema: schema<DepositData>(
    (v) => typeof v.amount === 'number' && typeof v.currency === 'string',
    '{ amount: number, currency: string }',
  ),
  upcasters: {
    1: upcaster(
      schema<{ amount: number }>((v) => typeof v.amount === 'number', '{ amount: number }'),
      (v1) => ({ ...v1, currency: 'EUR' }),
    ),
  },
});

/** A withdrawal. */
export const FundsWithdrawn = defineEvent({
  type: 'FundsWithdrawn',
  source: 'urn:tidings:store-suite',
  schema: schema<{ amount: number }>((v) => typeof v.amount === 'number', '{ amount: number }'),
});

/** Marks a place in the global order for a test. */
export const MarkerPlaced = defineEvent({
  type: 'MarkerPlaced',
  source: 'urn:tidings:store-suite',
  schema: schema<{ test: string }>((v) => typeof v.test === 'string', '{ test: string }'),
});

/** The events of the store suite, with one upcaster; `create` must give it to the store. */
export const storeSuiteCatalog = createCatalog({ events: [FundsDeposited, FundsWithdrawn, MarkerPlaced] });

/** A deposit of `amount` EUR. */
export const deposit = (amount: number): Event => FundsDeposited.create({ amount, currency: 'EUR' });
/** A withdrawal of `amount`. */
export const withdrawal = (amount: number): Event => FundsWithdrawn.create({ amount });

/** The balance a run of deposits and withdrawals leaves. */
export function balanceOf(events: readonly Event[]): number {
  return events.reduce(evolveBalance, 0);
}

/** Folds one suite event into a balance. */
export function evolveBalance(balance: number, event: Event): number {
  const { amount } = event.data as { amount: number };
  if (event.type === 'FundsDeposited') return balance + amount;
  if (event.type === 'FundsWithdrawn') return balance - amount;
  return balance;
}

/** A small seeded pseudo-random generator (mulberry32), so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves with the error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`${what} resolved; it should have failed`);
}
