import assert from 'node:assert/strict';
import { createDeadLetters } from '../../dead-letters.ts';
import { createEvent } from '../../envelope.ts';
import { defineProjection, type Projection } from '../../event-store/projection.ts';
import { type ProjectionRunner, runProjections } from '../../event-store/projection-runner.ts';
import type { EventStore } from '../../event-store/types.ts';
import {
  deposit,
  FundsDeposited,
  FundsWithdrawn,
  type StoreCase,
  type StoreCaseContext,
  withdrawal,
} from './harness.ts';

/** A store made with inline projections, as the suite's `open` returns it. */
type WithInline = EventStore & { readonly projections?: ProjectionRunner | undefined };

interface Balances {
  /** A projection of balances per stream of this test, failing on a deposit of `failOn`. */
  projection(options?: { version?: number; failOn?: () => number | undefined }): Projection;
  /** The expected balance document of each stream, from the events. */
  name: string;
}

function balances(t: StoreCaseContext, label: string): Balances {
  const own = t.stream('');
  const name = `${own}${label}`.toLowerCase();
  return {
    name,
    projection: ({ version = 1, failOn } = {}) =>
      defineProjection({
        name,
        version,
        events: [FundsDeposited, FundsWithdrawn],
        apply(event, { documents }) {
          // The store may be shared with other tests: keep to this test's streams.
          if (!event.stream.startsWith(own)) return undefined;
          const amount = (event.data as { amount: number }).amount;
          if (event.type === FundsDeposited.type && amount === failOn?.()) {
            throw new Error(`deposit of ${amount} refused by the projection`);
          }
          const sign = event.type === FundsDeposited.type ? 1 : -1;
          return documents.update<{ balance: number; events: number; version: number }>(
            'balances',
            event.stream,
            (current) => ({
              balance: (current?.balance ?? 0) + sign * amount * version,
              events: (current?.events ?? 0) + 1,
              version: event.streamVersion,
            }),
          );
        },
      }),
  };
}

async function documentsOf(runner: ProjectionRunner, name: string): Promise<readonly unknown[]> {
  return runner.documents(name).list('balances', { limit: 10_000 });
}

async function withRunner<T>(
  store: EventStore,
  projections: readonly Projection[],
  work: (runner: ProjectionRunner) => Promise<T>,
  options: { batchSize?: number } = {},
): Promise<T> {
  const runner = runProjections(store, { projections, batchSize: options.batchSize ?? 7 });
  try {
    return await work(runner);
  } finally {
    await runner.close();
  }
}

export const inlineProjections: StoreCase = {
  name: 'inline projections change in the same transaction as the append',
  async run(t) {
    const b = balances(t, 'inline');
    const failing: { on?: number } = {};
    const store = (await t.open({ projections: [b.projection({ failOn: () => failing.on })] })) as WithInline;
    const runner = store.projections;
    assert.ok(runner !== undefined, 'a store opened with projections must expose store.projections');
    await runner.get(b.name).live();
    const a = t.stream('a');
    await store.append(a, [deposit(10), withdrawal(3)]);
    // No waiting: the append returned only after its projection changed.
    assert.deepEqual(await runner.documents(b.name).get('balances', a), {
      balance: 7,
      events: 2,
      version: 2,
    });

    failing.on = 99;
    const c = t.stream('c');
    const refused = await store.append(c, [deposit(99)]);
    assert.equal(refused.streamVersion, 1, 'a failing inline projection must not fail the append');
    await store.append(a, [deposit(1)]);
    assert.deepEqual(await runner.documents(b.name).get('balances', a), {
      balance: 8,
      events: 3,
      version: 3,
    });
    assert.equal(await runner.documents(b.name).get('balances', c), undefined);
    const letters = await createDeadLetters(runner.deadLetters).list({ group: b.name });
    assert.deepEqual(
      letters.map((d) => [d.type, d.reason]),
      [[FundsDeposited.type, 'non-retryable']],
    );
  },
};

export const asyncProjections: StoreCase = {
  name: 'async projections catch up, follow new events and wait for a position',
  async run(t) {
    const b = balances(t, 'async');
    const streams = [t.stream('a'), t.stream('b'), t.stream('c')];
    for (let i = 0; i < 20; i += 1) await t.store.append(streams[i % 3] as string, [deposit(i + 1)]);
    await withRunner(t.store, [b.projection()], async (runner) => {
      await runner.get(b.name).live();
      const total = (await documentsOf(runner, b.name)) as { document: { balance: number } }[];
      assert.equal(
        total.reduce((sum, d) => sum + d.document.balance, 0),
        210,
      );
      const { position } = await t.store.append(streams[0] as string, [withdrawal(5)]);
      await runner.get(b.name).waitFor(position);
      const first = (await runner.documents(b.name).get('balances', streams[0] as string)) as {
        balance: number;
      };
      assert.equal(first.balance, 1 + 4 + 7 + 10 + 13 + 16 + 19 - 5);
    });
  },
};

export const rebuildEqualsIncremental: StoreCase = {
  name: 'projection rebuild equals incremental build',
  async run(t) {
    const b = balances(t, 'rebuild');
    const streams = [t.stream('a'), t.stream('b'), t.stream('c'), t.stream('d')];
    await withRunner(t.store, [b.projection()], async (runner) => {
      await runner.get(b.name).live();
      let last = '';
      for (let i = 0; i < 30; i += 1) {
        const stream = streams[(i * 7) % 4] as string;
        const events = i % 5 === 0 ? [withdrawal(i)] : [deposit(i), deposit(1)];
        last = (await t.store.append(stream, events)).position;
      }
      await runner.get(b.name).waitFor(last);
      const incremental = await documentsOf(runner, b.name);
      assert.equal(incremental.length, 4);
      const progress: { done: number; total: number | undefined }[] = [];
      await runner.rebuild(b.name, { onProgress: (p) => progress.push({ done: p.done, total: p.total }) });
      assert.deepEqual(await documentsOf(runner, b.name), incremental);
      const end = progress.at(-1);
      assert.ok(
        end !== undefined && end.total !== undefined && end.done >= 54,
        'progress must report the events done',
      );
    });
  },
};

export const projectionDeadLetters: StoreCase = {
  name: 'a failing projection event pauses only its stream until it is replayed',
  async run(t) {
    const b = balances(t, 'dlq');
    let failOn: number | undefined = 13;
    const [good, bad] = [t.stream('good'), t.stream('bad')];
    await withRunner(t.store, [b.projection({ failOn: () => failOn })], async (runner) => {
      await t.store.append(bad, [deposit(5)]);
      await t.store.append(bad, [deposit(13)]);
      await t.store.append(good, [deposit(2)]);
      const held = await t.store.append(bad, [deposit(7)]);
      const end = await t.store.append(good, [deposit(3)]);
      await runner.get(b.name).waitFor(end.position);
      assert.deepEqual(await runner.documents(b.name).get('balances', good), {
        balance: 5,
        events: 2,
        version: 2,
      });
      assert.deepEqual(await runner.documents(b.name).get('balances', bad), {
        balance: 5,
        events: 1,
        version: 1,
      });

      const deadLetters = createDeadLetters(runner.deadLetters);
      const letters = await deadLetters.list({ group: b.name });
      assert.deepEqual(
        letters.map((d) => d.reason),
        ['non-retryable', 'paused'],
      );
      assert.match(letters[0]?.error.message ?? '', /deposit of 13 refused/);
      assert.equal(letters[1]?.message.headers['tidings-position'], held.position);
      failOn = undefined;
      assert.deepEqual(await deadLetters.replay(letters[0]?.id as string), { replayed: 1 });
      assert.deepEqual(await runner.documents(b.name).get('balances', bad), {
        balance: 25,
        events: 3,
        version: 3,
      });
      assert.deepEqual(await deadLetters.list({ group: b.name }), []);
      const next = await t.store.append(bad, [withdrawal(1)]);
      await runner.get(b.name).waitFor(next.position);
      assert.deepEqual(await runner.documents(b.name).get('balances', bad), {
        balance: 24,
        events: 4,
        version: 4,
      });
    });
  },
};

export const blueGreenProjections: StoreCase = {
  name: 'a new projection version builds beside the live one and takes over when caught up',
  async run(t) {
    const b = balances(t, 'bluegreen');
    const a = t.stream('a');
    for (let i = 0; i < 12; i += 1) await t.store.append(a, [deposit(1)]);
    await withRunner(t.store, [b.projection({ version: 1 })], async (v1) => {
      await v1.get(b.name).live();
      assert.deepEqual(await v1.documents(b.name).get('balances', a), {
        balance: 12,
        events: 12,
        version: 12,
      });
      await withRunner(
        t.store,
        [b.projection({ version: 2 })],
        async (v2) => {
          await v2.get(b.name).live();
          // Reads follow the live version, whichever runner is asked.
          assert.deepEqual(await v1.documents(b.name).get('balances', a), {
            balance: 24,
            events: 12,
            version: 12,
          });
          const states = (await v2.status()).filter((s) => s.name === b.name);
          assert.deepEqual(
            states.map((s) => [s.version, s.status]),
            [
              [1, 'retired'],
              [2, 'live'],
            ],
          );
        },
        { batchSize: 5 },
      );
    });
  },
};

export const unreadableForProjections: StoreCase = {
  name: 'a stored event a projection cannot read becomes its dead letter, and the rest goes on',
  async run(t) {
    const b = balances(t, 'unreadable');
    const [good, bad] = [t.stream('good'), t.stream('bad')];
    await t.store.append(good, [deposit(4)]);
    const broken = await t.store.append(bad, [createEvent(FundsWithdrawn.type, 1, { amount: 'lots' })]);
    await t.store.append(bad, [deposit(1)]);
    const end = await t.store.append(good, [deposit(6)]);
    await withRunner(t.store, [b.projection()], async (runner) => {
      await runner.get(b.name).waitFor(end.position);
      assert.deepEqual(await runner.documents(b.name).get('balances', good), {
        balance: 10,
        events: 2,
        version: 2,
      });
      assert.equal(await runner.documents(b.name).get('balances', bad), undefined);
      const letters = await createDeadLetters(runner.deadLetters).list({ group: b.name });
      assert.deepEqual(
        letters.map((d) => [d.reason, d.error.code]),
        [
          ['invalid', 'TIDINGS_SCHEMA_INVALID'],
          ['paused', undefined],
        ],
      );
      assert.match(letters[0]?.error.message ?? '', new RegExp(broken.position));
      assert.equal(letters[0]?.message.headers['tidings-stream'], bad);
    });
  },
};
