import { fc, test as property } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createEvent, type Event } from '../envelope.ts';
import { createManualClock } from '../testing/manual-clock.ts';
import { aggregateStream } from './aggregate.ts';
import { memoryEventStore } from './memory-store.ts';
import { snapshotKey } from './snapshots.ts';
import type { RecordedEvent } from './types.ts';

interface Tally {
  readonly total: number;
  readonly seen: readonly number[];
}
const initialState = (): Tally => ({ total: 0, seen: [] });
const evolve = (state: Tally, event: RecordedEvent): Tally => {
  const { n } = event.data as { n: number };
  // Not commutative, so a snapshot that skipped or repeated an event would show.
  return { total: state.total * 3 + n, seen: [...state.seen, event.streamVersion] };
};
const added = (n: number): Event => createEvent('NumberAdded', 1, { n });

type Step =
  | { kind: 'append'; values: number[] }
  | { kind: 'load'; every: number; asOf: number | undefined }
  | { kind: 'truncate'; fraction: number }
  | { kind: 'delete' }
  | { kind: 'tick' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      values: fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 1, maxLength: 5 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('load' as const),
      every: fc.integer({ min: 1, max: 6 }),
      asOf: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const) }) },
);

describe('aggregateStream', () => {
  property.prop([fc.array(step, { maxLength: 40 })])(
    'gives with snapshots exactly the state a full replay gives, whatever happened to the stream',
    async (steps) => {
      const clock = createManualClock();
      const store = memoryEventStore({ clock });
      for (const s of steps) {
        if (s.kind === 'append') await store.append('s', s.values.map(added));
        else if (s.kind === 'tick') await clock.advance(1_000);
        else if (s.kind === 'delete') await store.deleteStream('s');
        else if (s.kind === 'truncate') {
          const { version } = await store.getStreamMetadata('s');
          await store.truncateStream('s', 1 + Math.floor(s.fraction * version));
        } else {
          const asOf = s.asOf === undefined ? undefined : { version: s.asOf };
          const snapshotted = await aggregateStream(store, 's', {
            initialState,
            evolve,
            asOf,
            snapshots: { every: s.every },
          });
          const replayed = await aggregateStream(store, 's', { initialState, evolve, asOf });
          expect(snapshotted).toEqual(replayed);
        }
      }
    },
  );

  it('folds only the events after the snapshot', async () => {
    const store = memoryEventStore();
    await store.append('s', [1, 2, 3, 4].map(added));
    const policy = { every: 2 };
    await aggregateStream(store, 's', { initialState, evolve, snapshots: policy });
    await store.append('s', [added(5)]);
    const folded: number[] = [];
    const counting = (state: Tally, event: RecordedEvent): Tally => {
      folded.push(event.streamVersion);
      return evolve(state, event);
    };
    // Same text as evolve would give another key: use evolve's own key through a wrapper policy instead.
    const key = snapshotKey(evolve, policy);
    const saved = await store.readSnapshot('s', key);
    expect(saved?.version).toBe(4);
    const { state } = await aggregateStream(store, 's', {
      initialState,
      evolve: counting,
      snapshots: policy,
    });
    expect(state.seen).toEqual([1, 2, 3, 4, 5]);
    expect(folded).toEqual([1, 2, 3, 4, 5]);
  });

  it('falls back to a full replay when the snapshot cannot be decoded', async () => {
    const store = memoryEventStore();
    await store.append('s', [1, 2].map(added));
    const policy = { every: 1 };
    await store.writeSnapshot('s', snapshotKey(evolve, policy), {
      version: 2,
      baseVersion: 1,
      recordedAt: new Date().toISOString(),
      state: '{not json',
    });
    const { state } = await aggregateStream(store, 's', { initialState, evolve, snapshots: policy });
    expect(state).toEqual({ total: 5, seen: [1, 2] });
  });

  it('encodes and decodes state with the policy codec', async () => {
    const store = memoryEventStore();
    await store.append('s', [1, 2, 3].map(added));
    const policy = {
      every: 1,
      encode: (state: Map<number, number>) => JSON.stringify([...state]),
      decode: (text: string) => new Map(JSON.parse(text) as [number, number][]),
    };
    const fold = {
      initialState: () => new Map<number, number>(),
      evolve: (state: Map<number, number>, event: RecordedEvent) =>
        new Map(state).set(event.streamVersion, (event.data as { n: number }).n),
      snapshots: policy,
    };
    await aggregateStream(store, 's', fold);
    expect((await aggregateStream(store, 's', fold)).state).toEqual(
      new Map([
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
    );
  });

  it('refuses options that cannot work, listing every problem', async () => {
    const store = memoryEventStore();
    await expect(
      aggregateStream(store, 's', { initialState: 0, evolve: 1, snapshots: { every: 0 } } as never),
    ).rejects.toThrow(/2 problems.*evolve.*initialState/);
    await expect(
      aggregateStream(store, 's', { initialState, evolve, snapshots: { every: 0 } }),
    ).rejects.toThrow(/every/);
    await expect(
      aggregateStream(store, 's', { initialState, evolve, asOf: { time: 'never' } }),
    ).rejects.toThrow(/until/);
  });
});
