import type { Event } from '../envelope.ts';
import { ConcurrencyError, invalidOptions, isTidingsError } from '../errors.ts';
import { aggregateStream } from './aggregate.ts';
import { checkExpectedVersion, checkStream } from './checks.ts';
import { checkSnapshotPolicy, type SnapshotPolicy } from './snapshots.ts';
import type { EventStore, ExpectedVersion, GlobalPosition } from './types.ts';

/** Business rules as two pure functions: what a command decides given the state, and how events change it. */
export interface Decider<S, C, E extends Event> {
  /** The state of a stream with no events. */
  readonly initialState: () => S;
  /** Returns the events a command produces (none, one or several), or throws to reject it. */
  readonly decide: (command: C, state: S) => E | readonly E[] | Promise<E | readonly E[]>;
  /** Folds one event into the state, without changing the state it is given. */
  readonly evolve: (state: S, event: E) => S;
  /** Snapshot policy for loading the state in {@link handleCommand}. */
  readonly snapshots?: SnapshotPolicy<S> | undefined;
}

/**
 * Declares a decider: the pure core of a command handler, testable with `given/when/then` and run
 * against a store by {@link handleCommand}.
 *
 * @example
 * const cart = defineDecider({
 *   initialState: () => ({ items: [] as string[], checkedOut: false }),
 *   decide: (command: { type: 'AddItem'; sku: string }, state) => {
 *     if (state.checkedOut) throw new Error('cart is checked out');
 *     return ItemAdded.create({ sku: command.sku });
 *   },
 *   evolve: (state, event) => ({ ...state, items: [...state.items, event.data.sku] }),
 * });
 */
export function defineDecider<S, C, E extends Event>(options: Decider<S, C, E>): Decider<S, C, E> {
  const problems: string[] = [];
  for (const name of ['initialState', 'decide', 'evolve'] as const) {
    if (typeof options?.[name] !== 'function') problems.push(`${name} must be a function`);
  }
  if (problems.length > 0) throw invalidOptions('defineDecider', problems);
  checkSnapshotPolicy('defineDecider', options.snapshots);
  return Object.freeze({ ...options });
}

/** Options of {@link handleCommand}. */
export interface HandleCommandOptions {
  /**
   * How many times to read, decide and append again after a `ConcurrencyError` (default 3). Retrying
   * is safe because `decide` sees the state that the other writer made.
   */
  readonly retries?: number | undefined;
  /**
   * The version the caller's decision is based on (an HTTP `If-Match`, say). Given, a conflict is thrown
   * at once: the caller must look again, so nothing is retried.
   */
  readonly expectedVersion?: ExpectedVersion | undefined;
}

/** What {@link handleCommand} did. */
export interface HandleCommandResult<S, E extends Event> {
  /** The events the command produced and the store now holds (empty when it decided nothing). */
  readonly events: readonly E[];
  /** The state after those events. */
  readonly state: S;
  /** The stream version after the append. */
  readonly streamVersion: number;
  /** The global position of the last new event; `undefined` when nothing was appended. */
  readonly position: GlobalPosition | undefined;
}

/**
 * Runs a command against a stream: loads the state, decides, and appends the new events expecting the
 * version it read; when another writer got there first it does it all again, a bounded number of times.
 *
 * @throws ConcurrencyError when every retry met a conflict; whatever `decide` throws, unchanged.
 * @example
 * const { state, streamVersion } = await handleCommand(store, 'cart-1', cart, { type: 'AddItem', sku: 'a' });
 */
export async function handleCommand<S, C, E extends Event>(
  store: EventStore,
  stream: string,
  decider: Decider<S, C, E>,
  command: C,
  options: HandleCommandOptions = {},
): Promise<HandleCommandResult<S, E>> {
  checkStream('handleCommand', stream);
  const retries = options.retries ?? 3;
  if (!Number.isSafeInteger(retries) || retries < 0) {
    throw invalidOptions('handleCommand', [`retries must be an integer >= 0 (got ${String(retries)})`]);
  }
  const pinned =
    options.expectedVersion === undefined
      ? undefined
      : checkExpectedVersion('handleCommand', stream, options.expectedVersion);
  for (let attempt = 0; ; attempt += 1) {
    const loaded = await aggregateStream<S, E>(store, stream, {
      initialState: decider.initialState,
      evolve: decider.evolve,
      snapshots: decider.snapshots,
    });
    const decided = await decider.decide(command, loaded.state);
    const events: readonly E[] = Array.isArray(decided) ? decided : [decided as E];
    if (events.length === 0) {
      return { events, state: loaded.state, streamVersion: loaded.streamVersion, position: undefined };
    }
    try {
      const appended = await store.append(stream, events, {
        expectedVersion: pinned ?? loaded.streamVersion,
      });
      const state = events.reduce(decider.evolve, loaded.state);
      return { events, state, streamVersion: appended.streamVersion, position: appended.position };
    } catch (error) {
      const conflict = error instanceof ConcurrencyError || isTidingsError(error, 'TIDINGS_CONCURRENCY');
      if (!conflict || pinned !== undefined || attempt >= retries) throw error;
    }
  }
}
