import assert from 'node:assert/strict';
import type { Event } from '../../envelope.ts';
import { isTidingsError } from '../../errors.ts';
import { defineDecider, handleCommand } from '../../event-store/decider.ts';
import { deposit, evolveBalance, rejection, type StoreCase, withdrawal } from './harness.ts';

type Command =
  | { readonly type: 'Deposit'; readonly amount: number }
  | { readonly type: 'Withdraw'; readonly amount: number };

const account = defineDecider<number, Command, Event>({
  initialState: () => 0,
  evolve: evolveBalance,
  decide: (command, balance) => {
    if (command.type === 'Deposit') return deposit(command.amount);
    if (command.amount > balance) throw new Error(`insufficient funds: ${balance} < ${command.amount}`);
    return withdrawal(command.amount);
  },
});

/** handleCommand: read, decide, append expecting what was read, and retry on conflict. */
export const commandHandling: StoreCase = {
  name: 'handles commands with deciders, retrying on conflict a bounded number of times',
  async run(t) {
    const stream = t.stream('account');
    const first = await handleCommand(t.store, stream, account, { type: 'Deposit', amount: 50 });
    assert.deepEqual([first.state, first.streamVersion], [50, 1]);
    const refused = await rejection(
      handleCommand(t.store, stream, account, { type: 'Withdraw', amount: 80 }),
      'overdraft',
    );
    assert.match((refused as Error).message, /insufficient funds/);

    // Ten writers at once: conflicts happen, retries absorb them, and no decision is lost.
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        handleCommand(t.store, stream, account, { type: 'Deposit', amount: 1 }, { retries: 20 }),
      ),
    );
    assert.equal(results.length, 10);
    const read = await t.store.readStream(stream);
    assert.equal(read.streamVersion, 11);
    assert.equal(read.events.reduce(evolveBalance, 0), 60);

    // Concurrent withdrawals that each fit alone but not together: the rule holds against the store.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        handleCommand(t.store, stream, account, { type: 'Withdraw', amount: 25 }, { retries: 10 }),
      ),
    );
    assert.equal(
      outcomes.filter((o) => o.status === 'fulfilled').length,
      2,
      'only two withdrawals of 25 fit in 60',
    );
    assert.equal((await t.store.readStream(stream)).events.reduce(evolveBalance, 0), 10);

    // With no retries, or a pinned expected version, a conflict comes straight back.
    const pinned = await rejection(
      handleCommand(t.store, stream, account, { type: 'Deposit', amount: 1 }, { expectedVersion: 3 }),
      'a pinned stale version',
    );
    assert.ok(isTidingsError(pinned, 'TIDINGS_CONCURRENCY'), String(pinned));
  },
};
