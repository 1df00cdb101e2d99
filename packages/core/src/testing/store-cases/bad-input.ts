import assert from 'node:assert/strict';
import { isTidingsError } from '../../errors.ts';
import type { Event } from '../../envelope.ts';
import { deposit, rejection, type StoreCase } from './harness.ts';

/** Bad arguments are refused with a typed error that says what to pass instead, before anything is written. */
export const badInput: StoreCase = {
  name: 'refuses bad arguments with typed errors that name the stream',
  async run(t) {
    const stream = t.stream('strict');
    const refuse = async (promise: Promise<unknown>, code: string, what: string): Promise<Error> => {
      const error = await rejection(promise, what);
      assert.ok(isTidingsError(error, code as 'TIDINGS_INVALID_OPTIONS'), `${what}: ${String(error)}`);
      return error;
    };
    for (const expectedVersion of [-1, 1.5, Number.NaN, '3', 'latest', null]) {
      const error = await refuse(
        t.store.append(stream, [deposit(1)], { expectedVersion: expectedVersion as never }),
        'TIDINGS_INVALID_OPTIONS',
        `expectedVersion ${String(expectedVersion)}`,
      );
      assert.match(error.message, new RegExp(stream));
      assert.match(error.message, /expectedVersion/);
    }
    await refuse(t.store.append('', [deposit(1)]), 'TIDINGS_INVALID_OPTIONS', 'an empty stream name');
    await refuse(t.store.append(stream, []), 'TIDINGS_INVALID_OPTIONS', 'no events');
    await refuse(t.store.append(stream, [{ type: 'X' } as Event]), 'TIDINGS_MALFORMED', 'a malformed event');
    const twice = deposit(1);
    await refuse(t.store.append(stream, [twice, twice]), 'TIDINGS_MALFORMED', 'one id twice in a batch');
    await refuse(t.store.readStream(stream, { from: -2 }), 'TIDINGS_INVALID_OPTIONS', 'from -2');
    await refuse(
      t.store.readStream(stream, { direction: 'sideways' as never }),
      'TIDINGS_INVALID_OPTIONS',
      'a direction',
    );
    await refuse(
      t.store.readStream(stream, { until: { time: 'yesterday' } }),
      'TIDINGS_INVALID_OPTIONS',
      'until a non-time',
    );
    await refuse(
      t.store.deleteStream(stream, { expectedVersion: 'x' as never }),
      'TIDINGS_INVALID_OPTIONS',
      'delete expecting x',
    );
    assert.equal((await t.store.readStream(stream)).streamVersion, 0, 'nothing was written');
  },
};

/** A closed store says so. */
export const closedStore: StoreCase = {
  name: 'refuses every call once closed',
  async run(t) {
    await t.store.append(t.stream('x'), [deposit(1)]);
    await t.store.close();
    for (const [what, call] of [
      ['append', () => t.store.append(t.stream('x'), [deposit(1)])],
      ['readStream', () => t.store.readStream(t.stream('x'))],
      ['readAll', () => t.store.readAll()],
    ] as const) {
      const error = await rejection(call(), `${what} after close`);
      assert.ok(isTidingsError(error, 'TIDINGS_CLOSED'), `${what}: ${String(error)}`);
    }
    await t.store.close();
  },
};
