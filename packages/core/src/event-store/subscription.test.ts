import { describe, expect, it } from 'vitest';
import { createEvent } from '../envelope.ts';
import { isTidingsError } from '../errors.ts';
import { createManualClock } from '../testing/manual-clock.ts';
import { eventually } from '../testing/transport-cases/harness.ts';
import { type CheckpointStore, memoryCheckpoints } from './checkpoints.ts';
import { memoryEventStore } from './memory-store.ts';
import { type StoreSubscriptionFailure, subscribeToAll } from './subscription.ts';
import type { EventStore, RecordedEvent } from './types.ts';

const POLL = 1_000;

function setup() {
  const clock = createManualClock();
  const store = memoryEventStore({ clock });
  const checkpoints = memoryCheckpoints();
  const append = async (stream: string, ...labels: string[]) =>
    (
      await store.append(
        stream,
        labels.map((label) => createEvent(label.split(':')[0] as string, 1, { label })),
      )
    ).position;
  return { clock, store, checkpoints, append };
}

const labelOf = (event: RecordedEvent): string => (event.data as { label: string }).label;

describe('subscribeToAll', () => {
  it('catches up with the history in global order, then picks up new events on the next poll', async () => {
    const { clock, store, checkpoints, append } = setup();
    await append('a', 'A:1', 'A:2');
    await append('b', 'B:3');
    const third = await append('a', 'A:4');
    const seen: string[] = [];
    const sub = subscribeToAll(store, {
      name: 'live',
      checkpoints,
      batchSize: 2,
      pollIntervalMs: POLL,
      clock,
      handler: (event) => void seen.push(labelOf(event)),
    });
    await sub.waitFor(third);
    expect(seen).toEqual(['A:1', 'A:2', 'B:3', 'A:4']);
    expect(sub.caughtUp()).toBe(true);
    expect(await checkpoints.load('live')).toBe(third);

    const last = await append('b', 'B:5', 'B:6');
    expect(seen).toHaveLength(4); // nothing is read before the poll interval has passed
    await clock.advance(POLL);
    await sub.waitFor(last);
    expect(seen).toEqual(['A:1', 'A:2', 'B:3', 'A:4', 'B:5', 'B:6']);
    expect(sub.position()).toBe(last);
    await sub.close();
  });

  it('after a crash between handling and saving, delivers the unsaved events again and skips none', async () => {
    const { clock, store, checkpoints, append } = setup();
    await append('s', 'A:1', 'A:2', 'A:3', 'A:4');
    const crash = new AbortController();
    let saves = 0;
    const crashing: CheckpointStore = {
      load: (name) => checkpoints.load(name),
      reset: (name, position) => checkpoints.reset(name, position),
      async save(name, position) {
        saves += 1;
        if (saves === 2) {
          crash.abort(); // the process dies here: A:3 and A:4 were handled, their checkpoint never saved
          throw new Error('killed');
        }
        await checkpoints.save(name, position);
      },
    };
    const first: string[] = [];
    const before = subscribeToAll(store, {
      name: 'crashy',
      checkpoints: crashing,
      batchSize: 2,
      clock,
      signal: crash.signal,
      onError: () => {},
      handler: (event) => void first.push(labelOf(event)),
    });
    await eventually(() => crash.signal.aborted);
    await before.close();
    expect(first).toEqual(['A:1', 'A:2', 'A:3', 'A:4']);

    const last = await append('s', 'A:5');
    const second: string[] = [];
    const after = subscribeToAll(store, {
      name: 'crashy',
      checkpoints,
      clock,
      handler: (event) => void second.push(labelOf(event)),
    });
    await after.waitFor(last);
    expect(second).toEqual(['A:3', 'A:4', 'A:5']);
    await after.close();
  });

  it('hands over only the chosen types, and its position still moves past the others', async () => {
    const { clock, store, checkpoints, append } = setup();
    await append('s', 'Wanted:1', 'Other:2', 'Wanted:3');
    const last = await append('t', 'Other:4', 'Other:5');
    const seen: string[] = [];
    const sub = subscribeToAll(store, {
      name: 'filtered',
      checkpoints,
      types: ['Wanted'],
      batchSize: 1,
      clock,
      handler: (event) => void seen.push(labelOf(event)),
    });
    await sub.waitFor(last);
    expect(seen).toEqual(['Wanted:1', 'Wanted:3']);
    expect(await checkpoints.load('filtered')).toBe(last);
    await sub.close();
  });

  it('stops on close: no further reads, no sleeper left, and pending waitFor calls reject', async () => {
    const { clock, store, checkpoints, append } = setup();
    const first = await append('s', 'A:1');
    const seen: string[] = [];
    const sub = subscribeToAll(store, {
      name: 'closing',
      checkpoints,
      pollIntervalMs: POLL,
      clock,
      handler: (event) => void seen.push(labelOf(event)),
    });
    await sub.waitFor(first);
    const later = await append('s', 'A:2');
    const waiting = sub.waitFor(later);
    await sub.close();
    await expect(waiting).rejects.toSatisfy((error) => isTidingsError(error, 'TIDINGS_CLOSED'));
    expect(clock.pending).toBe(0);
    await clock.advance(POLL * 5);
    expect(seen).toEqual(['A:1']);
    await expect(sub.waitFor(later)).rejects.toSatisfy((error) => isTidingsError(error, 'TIDINGS_CLOSED'));
  });

  it('stops when its signal aborts, keeping the checkpoint of what it handled', async () => {
    const { clock, store, checkpoints, append } = setup();
    const first = await append('s', 'A:1');
    const stop = new AbortController();
    const sub = subscribeToAll(store, {
      name: 'signal',
      checkpoints,
      clock,
      signal: stop.signal,
      handler: () => {},
    });
    await sub.waitFor(first);
    stop.abort();
    await sub.close();
    expect(clock.pending).toBe(0);
    expect(await checkpoints.load('signal')).toBe(first);
  });

  it('retries a failing handler at the same event with a growing backoff, and never skips it', async () => {
    const { clock, store, checkpoints, append } = setup();
    const [first] = [await append('s', 'A:1')];
    const last = await append('s', 'A:2', 'A:3');
    const calls: string[] = [];
    const failures: StoreSubscriptionFailure[] = [];
    let refusals = 2;
    const sub = subscribeToAll(store, {
      name: 'flaky',
      checkpoints,
      clock,
      backoff: { initialMs: 100, maxMs: 150 },
      onError: (_error, failure) => void failures.push(failure),
      handler: (event) => {
        calls.push(labelOf(event));
        if (labelOf(event) === 'A:2' && refusals-- > 0) throw new Error('downstream is down');
      },
    });
    await eventually(() => failures.length === 1);
    expect(await checkpoints.load('flaky')).toBe(first); // what was handled before the failure is kept
    expect(calls).toEqual(['A:1', 'A:2']);
    await clock.advance(100);
    await eventually(() => failures.length === 2);
    expect(calls).toEqual(['A:1', 'A:2', 'A:2']);
    await clock.advance(150);
    await sub.waitFor(last);
    expect(calls).toEqual(['A:1', 'A:2', 'A:2', 'A:2', 'A:3']);
    expect(
      failures.map((f) => [f.stage, f.attempt, f.delayMs, f.event && labelOf(f.event), f.position]),
    ).toEqual([
      ['handle', 1, 100, 'A:2', first],
      ['handle', 2, 150, 'A:2', first],
    ]);
    await sub.close();
  });

  it('waitFor resolves only once the subscription has handled and saved the position, and honours its signal', async () => {
    const { clock, store, checkpoints, append } = setup();
    const position = await append('s', 'A:1');
    let release = (): void => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    const sub = subscribeToAll(store, {
      name: 'ryw',
      checkpoints,
      clock,
      handler: async () => {
        started = true;
        await blocked;
      },
    });
    let resolved = false;
    const waiting = sub.waitFor(position).then(() => {
      resolved = true;
    });
    const giveUp = new AbortController();
    const abandoned = sub.waitFor(position, { signal: giveUp.signal });
    await eventually(() => started);
    giveUp.abort(new Error('gave up'));
    await expect(abandoned).rejects.toThrow('gave up');
    expect(resolved).toBe(false);
    release();
    await waiting;
    expect(sub.position()).toBe(position);
    await sub.close();
  });

  it('waits a poll interval, without spinning, while the store holds its readers behind an open transaction', async () => {
    const { clock, store, checkpoints, append } = setup();
    const start = (await store.readAll()).position;
    const position = await append('s', 'A:1');
    let held = true;
    let reads = 0;
    const holding: EventStore = {
      ...store,
      readAll(options) {
        reads += 1;
        // What PostgreSQL answers while an older transaction is still open: nothing yet, not caught up.
        if (held) return Promise.resolve({ events: [], position: options?.after ?? start, caughtUp: false });
        return store.readAll(options);
      },
    };
    const seen: string[] = [];
    const sub = subscribeToAll(holding, {
      name: 'held',
      checkpoints,
      pollIntervalMs: POLL,
      clock,
      handler: (event) => void seen.push(labelOf(event)),
    });
    // One read from the beginning, one from the saved start; then one per poll interval, no more.
    await eventually(() => reads === 2 && clock.pending === 1);
    expect(sub.caughtUp()).toBe(false);
    await clock.advance(POLL * 3);
    expect(reads).toBe(5);
    held = false;
    await clock.advance(POLL);
    await sub.waitFor(position);
    expect(seen).toEqual(['A:1']);
    expect(sub.caughtUp()).toBe(true);
    await sub.close();
  });

  it("keeps its place in the store's own checkpoints when given none", async () => {
    const { clock, store, append } = setup();
    const position = await append('s', 'A:1', 'A:2');
    const seen: string[] = [];
    const sub = subscribeToAll(store, {
      name: 'defaulted',
      clock,
      handler: (event) => void seen.push(labelOf(event)),
    });
    await sub.waitFor(position);
    await sub.close();
    expect(seen).toEqual(['A:1', 'A:2']);
    expect(await store.checkpoints.load('defaulted')).toBe(position);
  });

  it('asks for checkpoints when the store has none', () => {
    const { store } = setup();
    const { checkpoints: _checkpoints, ...withoutCheckpoints } = store;
    expect(() =>
      subscribeToAll(withoutCheckpoints as unknown as EventStore, { name: 'n', handler: () => undefined }),
    ).toThrow(/store has no checkpoints.*pass checkpoints/);
  });

  it('rejects bad options, listing every problem', () => {
    const { store } = setup();
    let error: unknown;
    try {
      subscribeToAll(store, {
        name: '',
        checkpoints: {} as CheckpointStore,
        batchSize: 0,
        pollIntervalMs: -1,
      });
    } catch (caught) {
      error = caught;
    }
    expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    expect((error as { details: { problems: string[] } }).details.problems).toHaveLength(5);
  });
});
