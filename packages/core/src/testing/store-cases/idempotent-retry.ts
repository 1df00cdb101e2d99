import assert from 'node:assert/strict';
import { isTidingsError } from '../../errors.ts';
import { deposit, rejection, type StoreCase } from './harness.ts';

/** A retried request (same event ids) must not store its events twice. */
export const idempotentRetry: StoreCase = {
  name: 'returns the original result when the same events are appended again',
  async run(t) {
    const after = await t.mark();
    const stream = t.stream('retry');
    const batch = [deposit(1), deposit(2)];
    const original = await t.store.append(stream, batch, { expectedVersion: 'no-stream' });
    await t.store.append(stream, [deposit(3)], { expectedVersion: 2 });

    // The client never saw the answer and sends the very same request again, expected version and all.
    assert.deepEqual(await t.store.append(stream, batch, { expectedVersion: 'no-stream' }), original);
    assert.deepEqual(await t.store.append(stream, batch, { expectedVersion: 0 }), original);
    assert.deepEqual(await t.store.append(stream, batch, { expectedVersion: 'any' }), original);
    assert.deepEqual(await t.store.append(stream, batch, { expectedVersion: 'exists' }), original);
    const second = await t.store.readStream(stream);
    assert.equal(second.streamVersion, 3, 'nothing was appended twice');

    // The same ids anywhere else, or only some of them, are not a retry.
    const elsewhere = await rejection(
      t.store.append(stream, batch, { expectedVersion: 3 }),
      'ids at another place',
    );
    assert.ok(isTidingsError(elsewhere, 'TIDINGS_CONCURRENCY'), String(elsewhere));
    const partial = await rejection(
      t.store.append(stream, [batch[1] ?? deposit(0), deposit(9)], { expectedVersion: 'any' }),
      'a batch that overlaps a stored one',
    );
    assert.ok(isTidingsError(partial, 'TIDINGS_CONCURRENCY'), String(partial));
    const reordered = await rejection(
      t.store.append(stream, [...batch].reverse(), { expectedVersion: 'any' }),
      'reordered ids',
    );
    assert.ok(isTidingsError(reordered, 'TIDINGS_CONCURRENCY'), String(reordered));

    // Ids are unique per stream: another stream may hold the same event.
    assert.equal((await t.store.append(t.stream('copy'), batch)).streamVersion, 2);
    const own = await t.readOwn(after);
    assert.equal(own.filter((e) => e.stream === stream).length, 3, 'readAll holds each event once');
  },
};

/** Concurrent retries of one request: one append happens, every caller gets its result. */
export const concurrentRetries: StoreCase = {
  name: 'stores a request sent several times at once exactly once',
  async run(t) {
    const stream = t.stream('double-submit');
    const batch = [deposit(7), deposit(8)];
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => t.store.append(stream, batch, { expectedVersion: 'no-stream' })),
    );
    const values: unknown[] = results.map((r) =>
      r.status === 'fulfilled' ? r.value : (r.reason as unknown),
    );
    for (const value of values) assert.deepEqual(value, values[0], 'every caller sees the one result');
    assert.equal((await t.store.readStream(stream)).streamVersion, 2);
  },
};
