import assert, { AssertionError } from 'node:assert/strict';
import type { Event } from '../envelope.ts';
import { invalidOptions, isTidingsError } from '../errors.ts';
import type { Decider } from '../event-store/decider.ts';

/** An event a `then` expects: its type, and its data when given (other envelope fields are not compared). */
export type ExpectedEvent<E extends Event = Event> =
  | E
  | { readonly type: E['type']; readonly data?: unknown };

/**
 * The error a `then` expects: an error class (`instanceof`), an error (same name and message), a
 * Tidings error code or a text the message contains, a pattern the message matches, or a predicate.
 */
export type ExpectedError =
  | (abstract new (
      ...args: never[]
    ) => Error)
  | Error
  | string
  | RegExp
  | ((error: unknown) => boolean);

/** A decider test after `given` and `when`: say what should happen. */
export interface ThenStep<E extends Event> {
  /**
   * Resolves when `decide` produced exactly these events (an empty array: none), or threw the expected
   * error; rejects with an `AssertionError` saying what happened instead.
   */
  then(expected: readonly ExpectedEvent<E>[] | ExpectedError): Promise<void>;
}

/** A decider test after `given`: the command to run. */
export interface WhenStep<C, E extends Event> {
  when(command: C): ThenStep<E>;
}

/** Given/when/then for one decider. */
export interface DeciderSpec<C, E extends Event> {
  /** The events already in the stream (none by default). */
  readonly given: (events?: readonly E[]) => WhenStep<C, E>;
}

/**
 * Tests a decider with no store: given past events, when a command runs, then these events (or this
 * error). Works under any test runner: `then` returns a promise that rejects with an `AssertionError`.
 *
 * @example
 * const { given } = deciderSpec(cart);
 * await given([ItemAdded.create({ sku: 'a' })]).when({ type: 'CheckOut' }).then([{ type: 'CartCheckedOut' }]);
 * await given([CartCheckedOut.create({})]).when({ type: 'AddItem', sku: 'b' }).then(/checked out/);
 */
export function deciderSpec<S, C, E extends Event>(decider: Decider<S, C, E>): DeciderSpec<C, E> {
  if (typeof decider?.decide !== 'function' || typeof decider.evolve !== 'function') {
    throw invalidOptions('deciderSpec', [
      'decider must be made with defineDecider({ initialState, decide, evolve })',
    ]);
  }
  return {
    given: (events = []) => ({
      when: (command) => ({
        // Two function arguments mean someone awaited the step itself instead of calling then(expected).
        then(expected: readonly ExpectedEvent<E>[] | ExpectedError, misuse?: unknown): Promise<void> {
          if (typeof misuse === 'function') {
            const error = new TypeError(
              'Call .then(expectedEvents | expectedError) on the when() step; do not await it.',
            );
            (misuse as (reason: unknown) => void)(error);
            return Promise.resolve();
          }
          return check(decider, events, command, expected);
        },
      }),
    }),
  };
}

async function check<S, C, E extends Event>(
  decider: Decider<S, C, E>,
  given: readonly E[],
  command: C,
  expected: readonly ExpectedEvent<E>[] | ExpectedError,
): Promise<void> {
  const state = given.reduce((current, event) => decider.evolve(current, event), decider.initialState());
  let produced: readonly E[];
  try {
    const decided = await decider.decide(command, state);
    produced = Array.isArray(decided) ? decided : [decided as E];
  } catch (error) {
    if (Array.isArray(expected)) {
      throw new AssertionError({
        message: `decide threw ${describeError(error)}, but the test expected ${expected.length} event(s)`,
        actual: error,
        expected,
      });
    }
    if (!errorMatches(error, expected as ExpectedError)) {
      throw new AssertionError({
        message: `decide threw ${describeError(error)}, not the expected ${describeExpected(expected as ExpectedError)}`,
        actual: error,
        expected,
      });
    }
    return;
  }
  if (!Array.isArray(expected)) {
    throw new AssertionError({
      message: `decide returned ${produced.length} event(s) (${produced.map((e) => e.type).join(', ') || 'none'}), but the test expected it to throw ${describeExpected(expected as ExpectedError)}`,
      actual: produced,
      expected,
    });
  }
  const wanted = expected as readonly ExpectedEvent<E>[];
  const actual = produced.map((event, i) =>
    wanted[i] !== undefined && !('data' in wanted[i])
      ? { type: event.type }
      : { type: event.type, data: event.data },
  );
  const expectation = wanted.map((event) =>
    'data' in event ? { type: event.type, data: event.data } : { type: event.type },
  );
  assert.deepStrictEqual(actual, expectation, 'decide produced other events than expected');
}

function errorMatches(error: unknown, expected: ExpectedError): boolean {
  const message = error instanceof Error ? error.message : String(error);
  if (typeof expected === 'string')
    return isTidingsError(error, expected as never) || message.includes(expected);
  if (expected instanceof RegExp) return expected.test(message);
  if (expected instanceof Error) {
    return error instanceof Error && error.name === expected.name && error.message === expected.message;
  }
  if (typeof expected === 'function') {
    // A class has a prototype an error can be an instance of; an arrow predicate has none.
    if (expected.prototype instanceof Error || expected === Error)
      return error instanceof (expected as typeof Error);
    return (expected as (error: unknown) => boolean)(error);
  }
  return false;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = isTidingsError(error) ? ` [${error.code}]` : '';
  return `${error.name}${code}: ${error.message}`;
}

function describeExpected(expected: ExpectedError): string {
  if (typeof expected === 'string') return `an error with code or message "${expected}"`;
  if (expected instanceof RegExp) return `an error matching ${String(expected)}`;
  if (expected instanceof Error) return `${expected.name}: ${expected.message}`;
  return expected.name === '' ? 'an error the predicate accepts' : `a ${expected.name}`;
}
