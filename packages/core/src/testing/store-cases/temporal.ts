import assert from 'node:assert/strict';
import { aggregateStream } from '../../event-store/aggregate.ts';
import { deposit, evolveBalance, type StoreCase, withdrawal } from './harness.ts';

/** "The state as of a version or a time": history cut at that point, later events as if unwritten. */
export const temporalReads: StoreCase = {
  name: 'reads a stream and its state as of a version or a time',
  async run(t) {
    const stream = t.stream('history');
    await t.store.append(stream, [deposit(100)]);
    const first = (await t.store.readStream(stream)).events[0];
    assert.ok(first);
    await t.tick();
    await t.store.append(stream, [withdrawal(30), deposit(5)]);
    const second = (await t.store.readStream(stream, { from: 3 })).events[0];
    assert.ok(second);
    await t.tick();
    await t.store.append(stream, [withdrawal(75)]);
    assert.ok(second.recordedAt > first.recordedAt, 'tick moved time');

    const asOf = async (until: { version: number } | { time: string | Date | number }) => {
      const read = await t.store.readStream(stream, { until });
      assert.equal(read.streamVersion, 4, 'the current version, whatever the cut');
      return read.events.map((e) => e.streamVersion);
    };
    assert.deepEqual(await asOf({ version: 2 }), [1, 2]);
    assert.deepEqual(await asOf({ version: 0 }), []);
    assert.deepEqual(await asOf({ time: first.recordedAt }), [1]);
    assert.deepEqual(await asOf({ time: new Date(second.recordedAt) }), [1, 2, 3]);
    assert.deepEqual(await asOf({ time: Date.parse(first.recordedAt) - 1 }), []);
    assert.deepEqual(await asOf({ time: '2999-01-01T00:00:00Z' }), [1, 2, 3, 4]);
    const backward = await t.store.readStream(stream, {
      direction: 'backward',
      until: { time: second.recordedAt },
    });
    assert.deepEqual(
      backward.events.map((e) => e.streamVersion),
      [3, 2, 1],
    );

    const fold = { initialState: () => 0, evolve: evolveBalance };
    assert.equal((await aggregateStream(t.store, stream, fold)).state, 0);
    const then = await aggregateStream(t.store, stream, { ...fold, asOf: { time: second.recordedAt } });
    assert.deepEqual(then, { state: 75, version: 3, streamVersion: 4, streamExists: true });
    assert.equal((await aggregateStream(t.store, stream, { ...fold, asOf: { version: 1 } })).state, 100);
  },
};
