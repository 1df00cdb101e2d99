import assert from 'node:assert/strict';
import { createEvent } from '../../envelope.ts';
import { deposit, FundsDeposited, type StoreCase, withdrawal } from './harness.ts';

/** The basic promise: what goes in comes back, whole, in order, with its place. */
export const appendRead: StoreCase = {
  name: 'appends events and reads them back whole, with versions, positions and times',
  async run(t) {
    const stream = t.stream('account');
    const first = FundsDeposited.create(
      { amount: 10, currency: 'EUR' },
      {
        subject: 'acc-1',
        causationId: 'cause-1',
        correlationId: 'corr-1',
        extensions: { traceparent: 'tp' },
      },
    );
    const unicode = createEvent('FundsDeposited', 2, { amount: 1.5, currency: 'Ω€ 😀 \u0000' });
    const a = await t.store.append(stream, [first, unicode], { expectedVersion: 'no-stream' });
    assert.equal(a.streamVersion, 2);
    const b = await t.store.append(stream, [withdrawal(3)], { expectedVersion: 2 });
    assert.equal(b.streamVersion, 3);
    assert.ok(b.position > a.position, 'positions grow with each append');

    const read = await t.store.readStream(stream);
    assert.equal(read.streamVersion, 3);
    assert.equal(read.streamExists, true);
    assert.equal(read.truncateBefore, 1);
    assert.deepEqual(
      read.events.map((e) => [e.stream, e.streamVersion, e.type]),
      [
        [stream, 1, 'FundsDeposited'],
        [stream, 2, 'FundsDeposited'],
        [stream, 3, 'FundsWithdrawn'],
      ],
    );
    const [one, two, three] = read.events;
    assert.ok(one && two && three);
    for (const key of [
      'id',
      'type',
      'version',
      'source',
      'time',
      'subject',
      'correlationId',
      'causationId',
    ] as const) {
      assert.equal(one[key], first[key], `${key} survives the store`);
    }
    assert.deepEqual(one.extensions, { traceparent: 'tp' });
    assert.deepEqual(one.data, { amount: 10, currency: 'EUR' });
    assert.deepEqual(two.data, unicode.data, 'text survives byte for byte');
    assert.equal(two.subject, undefined);
    assert.equal(three.position, b.position, 'the append returns the position of its last event');
    assert.ok(one.position < two.position && two.position < three.position);
    assert.ok(!Number.isNaN(Date.parse(one.recordedAt)), 'recordedAt is a timestamp');

    const missing = await t.store.readStream(t.stream('never-written'));
    assert.deepEqual(
      { events: missing.events, version: missing.streamVersion, exists: missing.streamExists },
      { events: [], version: 0, exists: false },
    );
    assert.equal(
      (await t.store.append(t.stream('other'), [deposit(1)])).streamVersion,
      1,
      "default is 'any'",
    );
  },
};
