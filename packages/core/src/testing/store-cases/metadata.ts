import assert from 'node:assert/strict';
import { isTidingsError } from '../../errors.ts';
import { deposit, rejection, type StoreCase } from './harness.ts';

const versionsOf = async (t: Parameters<StoreCase['run']>[0], stream: string): Promise<number[]> =>
  (await t.store.readStream(stream)).events.map((e) => e.streamVersion);

/** Truncation and soft deletion hide events from readStream; readAll keeps the log as it was. */
export const truncateAndSoftDelete: StoreCase = {
  name: 'truncates and soft-deletes streams; an append reopens a soft-deleted stream',
  async run(t) {
    const after = await t.mark();
    const stream = t.stream('retention');
    await t.store.append(stream, [deposit(1), deposit(2), deposit(3), deposit(4)]);
    const truncated = await t.store.truncateStream(stream, 3);
    assert.deepEqual(truncated, { stream, version: 4, truncateBefore: 3, deleted: false, tombstoned: false });
    assert.deepEqual(await versionsOf(t, stream), [3, 4]);
    assert.deepEqual(
      (await t.store.readStream(stream, { direction: 'backward' })).events.map((e) => e.streamVersion),
      [4, 3],
    );
    const tooFar = await rejection(t.store.truncateStream(stream, 6), 'truncating past the end');
    assert.ok(isTidingsError(tooFar, 'TIDINGS_INVALID_OPTIONS'), String(tooFar));

    const deleted = await t.store.deleteStream(stream, { expectedVersion: 4 });
    assert.deepEqual(deleted, { stream, version: 4, truncateBefore: 5, deleted: true, tombstoned: false });
    const gone = await t.store.readStream(stream);
    assert.deepEqual([gone.events.length, gone.streamExists, gone.streamVersion], [0, false, 4]);
    // The version carries on, so writers that read before the delete still conflict.
    const stale = await rejection(
      t.store.append(stream, [deposit(9)], { expectedVersion: 2 }),
      'a stale append',
    );
    assert.ok(isTidingsError(stale, 'TIDINGS_CONCURRENCY'), String(stale));
    await t.store.append(stream, [deposit(5)], { expectedVersion: 4 });
    assert.deepEqual(await versionsOf(t, stream), [5]);
    assert.equal((await t.store.getStreamMetadata(stream)).deleted, false, 'the append reopened it');
    assert.equal(
      (await t.readOwn(after)).filter((e) => e.stream === stream).length,
      5,
      'readAll still has all five',
    );
    assert.deepEqual(await t.store.getStreamMetadata(t.stream('none')), {
      stream: t.stream('none'),
      version: 0,
      truncateBefore: 1,
      deleted: false,
      tombstoned: false,
    });
  },
};

/** A tombstone is final: no append of any kind gets through. */
export const tombstone: StoreCase = {
  name: 'tombstones a stream so that every later append fails',
  async run(t) {
    const stream = t.stream('closed-account');
    await t.store.append(stream, [deposit(1)]);
    const conflict = await rejection(
      t.store.deleteStream(stream, { expectedVersion: 3, tombstone: true }),
      'a stale delete',
    );
    assert.ok(isTidingsError(conflict, 'TIDINGS_CONCURRENCY'), String(conflict));
    const meta = await t.store.deleteStream(stream, { tombstone: true });
    assert.equal(meta.tombstoned, true);
    for (const expectedVersion of ['any', 1, 'exists', 'no-stream'] as const) {
      const error = await rejection(
        t.store.append(stream, [deposit(2)], { expectedVersion }),
        `append after tombstone (${expectedVersion})`,
      );
      assert.ok(isTidingsError(error, 'TIDINGS_STREAM_DELETED'), String(error));
      assert.match(error.message, new RegExp(stream));
    }
    const read = await t.store.readStream(stream);
    assert.deepEqual([read.events.length, read.streamExists], [0, false]);
    const never = t.stream('never-born');
    await t.store.deleteStream(never, { tombstone: true });
    const unborn = await rejection(
      t.store.append(never, [deposit(1)]),
      'append to a stream tombstoned before any event',
    );
    assert.ok(isTidingsError(unborn, 'TIDINGS_STREAM_DELETED'), String(unborn));
  },
};
