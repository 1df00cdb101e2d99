import assert from 'node:assert/strict';
import type { CheckpointStore } from '../../event-store/checkpoints.ts';
import {
  type StoreSubscriptionFailure,
  type SubscribeToAllOptions,
  subscribeToAll,
} from '../../event-store/subscription.ts';
import type { GlobalPosition, RecordedEvent } from '../../event-store/types.ts';
import { deposit, type StoreCase, type StoreCaseContext } from './harness.ts';

/**
 * Moves time on (the manual clock, or the wall clock by a millisecond) until `promise` settles, so that a
 * subscription waiting out its poll interval reads again; gives up after a bounded number of ticks.
 */
async function tickUntil<T>(t: StoreCaseContext, promise: Promise<T>, what: string): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  watched.catch(() => undefined);
  for (let ticks = 0; ticks < 2_000 && !settled; ticks += 1) await t.tick();
  if (!settled) throw new Error(`still waiting for ${what} after 2000 ticks`);
  return watched;
}

/** A subscription that notes the versions of `stream` it handles (other tests' events pass through). */
function follow(
  t: StoreCaseContext,
  stream: string,
  options: Omit<SubscribeToAllOptions, 'handler' | 'handleBatch'>,
  fail?: (event: RecordedEvent) => boolean,
) {
  const seen: number[] = [];
  const subscription = subscribeToAll(t.store, {
    clock: t.clock,
    pollIntervalMs: 1,
    // Long enough that a retry never comes before the test restarts the subscription itself.
    backoff: { initialMs: 3_600_000 },
    onError: () => undefined,
    ...options,
    handler: (event) => {
      if (event.stream !== stream) return;
      if (fail?.(event) === true) throw new Error(`handler failed on version ${event.streamVersion}`);
      seen.push(event.streamVersion);
    },
  });
  return { subscription, seen };
}

/** Runs a subscription until it has handled everything up to `position`, then closes it. */
async function runTo(
  t: StoreCaseContext,
  stream: string,
  position: GlobalPosition,
  options: Omit<SubscribeToAllOptions, 'handler' | 'handleBatch'>,
): Promise<number[]> {
  const { subscription, seen } = follow(t, stream, options);
  await tickUntil(t, subscription.waitFor(position), `subscription "${options.name}" to reach ${position}`);
  await subscription.close();
  return seen;
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The store's checkpoints carry subscriptions across restarts: at least once, never a skipped event. */
export const subscriptionCheckpoints: StoreCase = {
  name: 'subscriptions resume from checkpoints',
  async run(t) {
    const stream = t.stream('ledger');
    const reader = t.stream('reader');
    const other = t.stream('other-reader');
    const start = await t.mark();
    // Both start after the marker, so that a store shared with other tests is not read from its beginning.
    await t.store.checkpoints.save(reader, start);
    await t.store.checkpoints.save(other, start);
    const append = async (count: number) =>
      (
        await t.store.append(
          stream,
          range(1, count).map((amount) => deposit(amount)),
        )
      ).position;

    // Closed after three events, restarted after two more: the second run handles only those two.
    const third = await append(3);
    assert.deepEqual(await runTo(t, stream, third, { name: reader, batchSize: 2 }), [1, 2, 3]);
    const saved = await t.store.checkpoints.load(reader);
    assert.ok(saved !== undefined && saved >= third, `the checkpoint reached ${third} (got ${saved})`);
    const fifth = await append(2);
    assert.deepEqual(await runTo(t, stream, fifth, { name: reader }), [4, 5]);

    // A second name keeps a place of its own: it starts where it was saved, and moves the first one not.
    const beforeOther = await t.store.checkpoints.load(reader);
    assert.deepEqual(await runTo(t, stream, fifth, { name: other, batchSize: 3 }), range(1, 5));
    assert.equal(await t.store.checkpoints.load(reader), beforeOther);

    // A crash between handling a batch and saving it: the restart repeats at most that batch, skips none.
    const ninth = await append(4);
    const crash = new AbortController();
    let saves = 0;
    let crashed: () => void = () => undefined;
    const died = new Promise<void>((resolve) => {
      crashed = resolve;
    });
    const dying: CheckpointStore = {
      load: (name) => t.store.checkpoints.load(name),
      reset: (name, position) => t.store.checkpoints.reset(name, position),
      async save(name, position) {
        saves += 1;
        if (saves === 2) {
          crash.abort();
          crashed();
          throw new Error('the process died before the checkpoint was saved');
        }
        await t.store.checkpoints.save(name, position);
      },
    };
    const doomed = follow(t, stream, {
      name: reader,
      batchSize: 2,
      checkpoints: dying,
      signal: crash.signal,
    });
    await tickUntil(t, died, 'the second checkpoint save');
    await doomed.subscription.close();
    const kept = (await t.store.checkpoints.load(reader)) as GlobalPosition;
    const own = (await t.readOwn(start)).filter((event) => event.stream === stream);
    const unsaved = own.filter((event) => event.position > kept).map((event) => event.streamVersion);
    const resumed = await runTo(t, stream, ninth, { name: reader, batchSize: 2 });
    assert.deepEqual(resumed, unsaved, 'the restart handles exactly what was not checkpointed');
    const repeated = resumed.filter((version) => doomed.seen.includes(version));
    assert.ok(repeated.length <= 2, `at most one batch of two is handled again (got ${repeated.join(', ')})`);
    assert.deepEqual(
      [...new Set([...doomed.seen, ...resumed])].sort((a, b) => a - b),
      range(6, 9),
      'between them, the two runs handled every event',
    );

    // A handler that fails at version 11 stops there: after a restart, 11 is the first event handled.
    const twelfth = await append(3);
    let failed: (failure: StoreSubscriptionFailure) => void = () => undefined;
    const failure = new Promise<StoreSubscriptionFailure>((resolve) => {
      failed = resolve;
    });
    const failing = follow(
      t,
      stream,
      { name: reader, onError: (_error, at) => failed(at) },
      (event) => event.streamVersion === 11,
    );
    const at = await tickUntil(t, failure, 'the handler to fail');
    await failing.subscription.close();
    assert.deepEqual([at.stage, at.event?.streamVersion], ['handle', 11]);
    assert.deepEqual(failing.seen, [10]);
    const eleventh = (await t.readOwn(start)).find((e) => e.stream === stream && e.streamVersion === 11);
    const stopped = (await t.store.checkpoints.load(reader)) as GlobalPosition;
    assert.ok(eleventh !== undefined && stopped < eleventh.position, 'the failed event is not checkpointed');
    assert.deepEqual(await runTo(t, stream, twelfth, { name: reader }), [11, 12]);
  },
};
