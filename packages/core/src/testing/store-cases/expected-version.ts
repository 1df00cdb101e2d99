import assert from 'node:assert/strict';
import { ConcurrencyError, isTidingsError } from '../../errors.ts';
import { deposit, rejection, type StoreCase } from './harness.ts';

async function conflict(
  promise: Promise<unknown>,
  stream: string,
  expected: unknown,
  actual: number,
): Promise<void> {
  const error = await rejection(promise, `append expecting ${String(expected)}`);
  assert.ok(isTidingsError(error, 'TIDINGS_CONCURRENCY'), `a concurrency error, got ${String(error)}`);
  assert.ok(error instanceof ConcurrencyError);
  assert.deepEqual(
    { stream: error.stream, expected: error.expected, actual: error.actual },
    { stream, expected, actual },
  );
}

/** Every expected-version mode, on both sides of its condition. */
export const expectedVersion: StoreCase = {
  name: 'checks every expected-version mode and says which stream, expected and actual on conflict',
  async run(t) {
    const stream = t.stream('modes');
    await conflict(t.store.append(stream, [deposit(1)], { expectedVersion: 'exists' }), stream, 'exists', 0);
    await conflict(t.store.append(stream, [deposit(1)], { expectedVersion: 1 }), stream, 1, 0);
    assert.equal(
      (await t.store.append(stream, [deposit(1)], { expectedVersion: 'no-stream' })).streamVersion,
      1,
    );
    await conflict(
      t.store.append(stream, [deposit(1)], { expectedVersion: 'no-stream' }),
      stream,
      'no-stream',
      1,
    );
    await conflict(t.store.append(stream, [deposit(1)], { expectedVersion: 0 }), stream, 0, 1);
    assert.equal(
      (await t.store.append(stream, [deposit(2)], { expectedVersion: 'exists' })).streamVersion,
      2,
    );
    assert.equal(
      (await t.store.append(stream, [deposit(3), deposit(4)], { expectedVersion: 2 })).streamVersion,
      4,
    );
    await conflict(t.store.append(stream, [deposit(5)], { expectedVersion: 3 }), stream, 3, 4);
    await conflict(t.store.append(stream, [deposit(5)], { expectedVersion: 5 }), stream, 5, 4);
    assert.equal((await t.store.append(stream, [deposit(5)], { expectedVersion: 'any' })).streamVersion, 5);
    const zero = t.stream('zero');
    assert.equal(
      (await t.store.append(zero, [deposit(1)], { expectedVersion: 0 })).streamVersion,
      1,
      '0 means no stream',
    );

    const read = await t.store.readStream(stream);
    assert.deepEqual(
      read.events.map((e) => (e.data as { amount: number }).amount),
      [1, 2, 3, 4, 5],
      'failed appends left nothing behind',
    );
  },
};

/** Racing writers that all expect the same version: exactly one wins each round. */
export const expectedVersionRace: StoreCase = {
  name: 'lets exactly one of many concurrent appends expecting the same version win',
  async run(t) {
    const stream = t.stream('race');
    await t.store.append(stream, [deposit(0)], { expectedVersion: 'no-stream' });
    for (let round = 1; round <= 5; round += 1) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          t.store.append(stream, [deposit(round * 100 + i), deposit(round * 100 + i)], {
            expectedVersion: 1 + (round - 1) * 2,
          }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
      for (const lost of results.filter((r) => r.status === 'rejected')) {
        assert.ok(isTidingsError(lost.reason, 'TIDINGS_CONCURRENCY'), `lost with ${String(lost.reason)}`);
      }
    }
    // 'no-stream' races the same way on a new stream.
    const fresh = t.stream('race-new');
    const creators = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        t.store.append(fresh, [deposit(i)], { expectedVersion: 'no-stream' }),
      ),
    );
    assert.equal(creators.filter((r) => r.status === 'fulfilled').length, 1);
    const read = await t.store.readStream(stream);
    assert.equal(read.streamVersion, 11);
    // Each winner's two events sit together: appends never interleave.
    for (let v = 2; v <= 11; v += 2) {
      assert.deepEqual(
        read.events[v - 1]?.data,
        read.events[v]?.data,
        `versions ${v} and ${v + 1} are one append`,
      );
    }
  },
};
