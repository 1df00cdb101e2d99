import assert from 'node:assert/strict';
import { aggregateStream } from '../../event-store/aggregate.ts';
import { snapshotKey } from '../../event-store/snapshots.ts';
import type { RecordedEvent } from '../../event-store/types.ts';
import { deposit, evolveBalance, seededRandom, type StoreCase, withdrawal } from './harness.ts';

interface Ledger {
  readonly balance: number;
  readonly moves: number;
  readonly last: number;
}
const initialState = (): Ledger => ({ balance: 0, moves: 0, last: 0 });
const evolve = (state: Ledger, event: RecordedEvent): Ledger => ({
  balance: evolveBalance(state.balance, event),
  moves: state.moves + 1,
  last: event.streamVersion,
});

/**
 * Random appends, truncations and loads, each load compared with a full replay: a snapshot may only
 * ever make loading faster, never change its answer.
 */
export const snapshotsEqualReplay: StoreCase = {
  name: 'loads the same state with snapshots as with a full replay',
  async run(t) {
    const random = seededRandom(42);
    const stream = t.stream('snapshotted');
    const policy = { every: 3 };
    for (let step = 0; step < 60; step += 1) {
      const roll = random();
      if (roll < 0.6) {
        const count = 1 + Math.floor(random() * 4);
        await t.store.append(
          stream,
          Array.from({ length: count }, (_, i) => (i % 2 ? withdrawal(i) : deposit(step))),
        );
      } else if (roll < 0.65) {
        const { version } = await t.store.getStreamMetadata(stream);
        await t.store.truncateStream(stream, 1 + Math.floor(random() * (version + 1)));
      } else if (roll < 0.68) {
        await t.store.deleteStream(stream);
      } else {
        const asOf = random() < 0.3 ? { version: Math.floor(random() * 40) } : undefined;
        const withSnapshots = await aggregateStream(t.store, stream, {
          initialState,
          evolve,
          snapshots: policy,
          asOf,
        });
        const replayed = await aggregateStream(t.store, stream, { initialState, evolve, asOf });
        assert.deepEqual(withSnapshots, replayed, `step ${step}: snapshot load differs from replay`);
      }
    }
    const saved = await t.store.readSnapshot(stream, snapshotKey(evolve, policy));
    assert.ok(saved !== undefined, 'a snapshot was saved along the way');
  },
};

/** The policy's version and evolve's text key the snapshot: other code never reads it. */
export const snapshotKeys: StoreCase = {
  name: 'saves snapshots every N events under a key that changes with the evolve code',
  async run(t) {
    const stream = t.stream('keyed');
    await t.store.append(
      stream,
      Array.from({ length: 5 }, (_, i) => deposit(i + 1)),
    );
    const policy = { every: 5 };
    await aggregateStream(t.store, stream, { initialState, evolve, snapshots: policy });
    const key = snapshotKey(evolve, policy);
    const saved = await t.store.readSnapshot(stream, key);
    assert.deepEqual(
      saved && {
        version: saved.version,
        baseVersion: saved.baseVersion,
        state: JSON.parse(saved.state) as unknown,
      },
      { version: 5, baseVersion: 1, state: { balance: 15, moves: 5, last: 5 } },
    );
    // A snapshot under this key with a state replay would never give: only a stale cache could show it.
    await t.store.writeSnapshot(stream, key, {
      ...(saved as NonNullable<typeof saved>),
      state: JSON.stringify({ balance: -1, moves: 0, last: 5 }),
    });
    const cached = await aggregateStream(t.store, stream, { initialState, evolve, snapshots: policy });
    assert.equal(cached.state.balance, -1, 'the snapshot is used when the key matches');
    const bumped = await aggregateStream(t.store, stream, {
      initialState,
      evolve,
      snapshots: { every: 5, version: 2 },
    });
    assert.equal(bumped.state.balance, 15, 'a new policy version ignores the old snapshot');
    const rewritten = (state: Ledger, event: RecordedEvent): Ledger => ({ ...evolve(state, event) });
    assert.notEqual(snapshotKey(rewritten, policy), key);
    const changed = await aggregateStream(t.store, stream, {
      initialState,
      evolve: rewritten,
      snapshots: policy,
    });
    assert.equal(changed.state.balance, 15, 'changed evolve code ignores the old snapshot');
    await t.store.append(stream, [deposit(1)]);
    const fewer = await aggregateStream(t.store, stream, {
      initialState,
      evolve,
      snapshots: { every: 5, version: 2 },
    });
    assert.equal(fewer.state.balance, 16);
    const v2 = snapshotKey(evolve, { every: 5, version: 2 });
    assert.equal((await t.store.readSnapshot(stream, v2))?.version, 5, 'one event is not yet "every 5"');
    await t.store.append(stream, [deposit(1), deposit(1), deposit(1), deposit(1)]);
    await aggregateStream(t.store, stream, { initialState, evolve, snapshots: { every: 5, version: 2 } });
    assert.equal(
      (await t.store.readSnapshot(stream, v2))?.version,
      10,
      'five more events make a new snapshot',
    );
    assert.equal((await t.store.readSnapshot(stream, key))?.version, 5, 'other keys are left alone');
  },
};
