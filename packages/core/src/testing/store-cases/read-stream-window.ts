import assert from 'node:assert/strict';
import { deposit, type StoreCase } from './harness.ts';

/** from, limit and direction pick a window; the stream's version is reported whatever the window. */
export const readStreamWindow: StoreCase = {
  name: 'reads a stream forward and backward, from a version, with a limit',
  async run(t) {
    const stream = t.stream('window');
    await t.store.append(
      stream,
      Array.from({ length: 10 }, (_, i) => deposit(i + 1)),
    );
    const versions = async (options: Parameters<typeof t.store.readStream>[1]): Promise<number[]> => {
      const read = await t.store.readStream(stream, options);
      assert.equal(read.streamVersion, 10);
      return read.events.map((e) => e.streamVersion);
    };
    assert.deepEqual(await versions({ from: 4, limit: 3 }), [4, 5, 6]);
    assert.deepEqual(await versions({ from: 9 }), [9, 10]);
    assert.deepEqual(await versions({ from: 11 }), []);
    assert.deepEqual(await versions({ direction: 'backward', limit: 3 }), [10, 9, 8]);
    assert.deepEqual(await versions({ direction: 'backward', from: 3 }), [3, 2, 1]);
    assert.deepEqual(await versions({ direction: 'backward', until: { version: 5 }, limit: 2 }), [5, 4]);
    assert.deepEqual(await versions({ limit: 0 }), []);
    const data = (await t.store.readStream(stream, { from: 2, limit: 1 })).events[0]?.data;
    assert.deepEqual(data, { amount: 2, currency: 'EUR' });
  },
};
