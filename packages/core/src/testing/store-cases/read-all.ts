import assert from 'node:assert/strict';
import { isTidingsError } from '../../errors.ts';
import { deposit, rejection, type StoreCase, withdrawal } from './harness.ts';

/** readAll pages, filters by type, and moves its position past what the filter left out. */
export const readAllPaging: StoreCase = {
  name: 'reads all streams in pages, filtered by type, with a position that moves past skipped events',
  async run(t) {
    const after = await t.mark();
    const a = t.stream('a');
    const b = t.stream('b');
    await t.store.append(a, [deposit(1), withdrawal(1)]);
    await t.store.append(b, [deposit(2)]);
    const last = await t.store.append(a, [withdrawal(2), withdrawal(3)]);

    const own = await t.readOwn(after, 2);
    assert.deepEqual(
      own.map((e) => [e.stream, e.streamVersion, e.type]),
      [
        [a, 1, 'FundsDeposited'],
        [a, 2, 'FundsWithdrawn'],
        [b, 1, 'FundsDeposited'],
        [a, 3, 'FundsWithdrawn'],
        [a, 4, 'FundsWithdrawn'],
      ],
    );
    const page = await t.store.readAll({ after, limit: 2 });
    assert.equal(page.events.length, 2);
    assert.equal(page.position, page.events[1]?.position, 'a full page ends at its last event');
    assert.equal(page.caughtUp, false);

    const deposits = await t.store.readAll({ after, types: ['FundsDeposited'], limit: 1_000 });
    const mine = deposits.events.filter((e) => e.stream === a || e.stream === b);
    assert.deepEqual(
      mine.map((e) => e.type),
      ['FundsDeposited', 'FundsDeposited'],
    );
    assert.ok(
      deposits.position >= last.position,
      'the position moved past the withdrawals the filter skipped',
    );
    const rest = await t.store.readAll({ after: deposits.position, types: ['FundsDeposited'] });
    assert.equal(rest.events.filter((e) => e.stream === a || e.stream === b).length, 0);
    const none = await t.store.readAll({ after, types: ['NothingLikeThis'] });
    assert.deepEqual(none.events, []);
    assert.ok(none.position >= last.position, 'a filter that matches nothing still moves the position');

    const bad = await rejection(t.store.readAll({ after: 'not a position' }), 'readAll after garbage');
    assert.ok(isTidingsError(bad, 'TIDINGS_INVALID_OPTIONS'), String(bad));
    const zero = await rejection(t.store.readAll({ limit: 0 }), 'readAll limit 0');
    assert.ok(isTidingsError(zero, 'TIDINGS_INVALID_OPTIONS'), String(zero));
  },
};
