import { isTidingsError } from '@tidings/core';
import type { Delivery, FailureRecord } from '@tidings/core';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, message, recorder, settle, text, until } from './test-support/harness.ts';
import type { Harness } from './test-support/harness.ts';

const open: Harness[] = [];
function setup(...args: Parameters<typeof harness>): Harness {
  const h = harness(...args);
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.transport.close()));
});

const failure = (overrides: Partial<FailureRecord> = {}): FailureRecord => ({
  handler: 'charge',
  error: {
    name: 'PaymentError',
    message: 'card declined',
    stack: 'PaymentError: card declined\n    at charge',
    code: 'E42',
  },
  attempts: 3,
  firstFailedAt: 1_000,
  lastFailedAt: 2_000,
  fingerprint: 'PaymentError:card declined:charge',
  reason: 'exhausted',
  ...overrides,
});

/** Publishes and dead-letters each message in `group`, one `advance` of the clock apart. */
async function deadLetter(h: Harness, group: string, ids: string[], topic = 'OrderPlaced'): Promise<void> {
  const { seen, handler } = recorder();
  const consumer = await h.transport.consume(h.consumeOptions({ group, topics: [topic] }), handler);
  await h.transport.publish(
    'orders',
    ids.map((id) => message(id, { topic, key: `key-${id}` })),
  );
  await until(() => seen.length === ids.length, 'the deliveries');
  for (const delivery of seen) {
    await h.clock.advance(10);
    await delivery.deadLetter(failure({ handler: `${group}-handler` }));
  }
  await consumer.close();
}

describe('sqlite dead letters', () => {
  it('stores the failure and the message, and removes the delivery in one step', async () => {
    const h = setup();
    const { transport, clock, count } = h;
    const { seen, handler } = recorder();
    await transport.consume(h.consumeOptions(), handler);
    const sent = message('m-1', { key: 'order-1', headers: { 'ce-id': 'm-1', 'x-émoji': '📦' } });
    await transport.publish('orders', [sent]);
    await until(() => seen.length === 1, 'the delivery');
    await seen[0]?.deadLetter(failure());

    expect(count('SELECT count(*) FROM tidings_deliveries')).toBe(0);
    const [record] = await transport.deadLetters.list({});
    expect(record).toMatchObject({
      channel: 'orders',
      group: 'billing',
      message: { id: 'm-1', topic: 'OrderPlaced', key: 'order-1', headers: sent.headers },
      ...failure(),
      deadLetteredAt: clock.now(),
    });
    expect(text(record?.message.body ?? new Uint8Array())).toBe('{"id":"m-1"}');
    expect(await transport.deadLetters.get(record?.id ?? '')).toEqual(record);
    expect(await transport.deadLetters.get('nope')).toBeUndefined();
  });

  it('keeps the delivery when storing the dead letter fails', async () => {
    const h = setup();
    const { transport, count } = h;
    transport.database.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON tidings_dead_letters BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
    );
    const { seen, handler } = recorder();
    await transport.consume(h.consumeOptions(), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 1, 'the delivery');
    await expect(seen[0]?.deadLetter(failure())).rejects.toThrow('disk says no');
    expect(count('SELECT count(*) FROM tidings_deliveries')).toBe(1);
    expect(count('SELECT count(*) FROM tidings_dead_letters')).toBe(0);
  });

  it('replays a dead letter to its own group only, as a fresh delivery', async () => {
    const h = setup();
    const { transport } = h;
    const billing = recorder();
    const shipping = recorder((delivery) => delivery.ack());
    await transport.consume(h.consumeOptions({ group: 'billing' }), billing.handler);
    await transport.consume(h.consumeOptions({ group: 'shipping' }), shipping.handler);
    await transport.publish('orders', [message('m-1', { key: 'order-1' })]);
    await until(() => billing.seen.length === 1 && shipping.seen.length === 1, 'both groups');
    await billing.seen[0]?.deadLetter(failure());

    const [record] = await transport.deadLetters.list({ group: 'billing' });
    expect(await transport.deadLetters.replay(record?.id ?? '')).toBe(true);
    await until(() => billing.seen.length === 2, 'the replayed delivery');
    await settle();
    expect(shipping.seen).toHaveLength(1);
    expect(billing.seen[1]).toMatchObject({
      attempt: 1,
      previousTries: 0,
      message: { id: 'm-1', key: 'order-1', headers: billing.seen[0]?.message.headers },
    });
    expect(await transport.deadLetters.list({})).toEqual([]);
    expect(await transport.deadLetters.replay(record?.id ?? '')).toBe(false);
  });

  it('replays a dead letter whose original message was cleaned up', async () => {
    const h = setup({ retentionMs: 1000 });
    const { transport, clock, count } = h;
    await deadLetter(h, 'billing', ['m-1']);
    await clock.advance(5000);
    await transport.publish('orders', [message('trigger-cleanup', { topic: 'Unrelated' })]);
    expect(count("SELECT count(*) FROM tidings_messages WHERE id = 'm-1'")).toBe(0);

    const { seen, handler } = recorder((delivery: Delivery) => delivery.ack());
    await transport.consume(h.consumeOptions(), handler);
    const [record] = await transport.deadLetters.list({});
    await transport.deadLetters.replay(record?.id ?? '');
    await until(() => seen.length === 1, 'the replayed delivery');
    expect(seen[0]?.message.id).toBe('m-1');
  });

  it('lists by group, topic, fingerprint and time, in time order, a page at a time', async () => {
    const h = setup();
    const { transport, clock } = h;
    const start = clock.now();
    await deadLetter(h, 'billing', ['b1', 'b2', 'b3']);
    await deadLetter(h, 'shipping', ['s1'], 'OrderShipped');
    const all = await transport.deadLetters.list({});
    expect(all.map((r) => r.message.id)).toEqual(['b1', 'b2', 'b3', 's1']);
    expect(all.map((r) => r.deadLetteredAt)).toEqual([start + 10, start + 20, start + 30, start + 40]);

    const pick = async (query: Parameters<typeof transport.deadLetters.list>[0]) =>
      (await transport.deadLetters.list(query)).map((r) => r.message.id);
    expect(await pick({ group: 'shipping' })).toEqual(['s1']);
    expect(await pick({ topic: 'OrderPlaced' })).toEqual(['b1', 'b2', 'b3']);
    expect(await pick({ fingerprint: 'PaymentError:card declined:charge', since: start + 20 })).toEqual([
      'b2',
      'b3',
      's1',
    ]);
    expect(await pick({ fingerprint: 'other' })).toEqual([]);

    const first = await transport.deadLetters.list({ limit: 2 });
    expect(first.map((r) => r.message.id)).toEqual(['b1', 'b2']);
    const next = await pick({ limit: 2, after: first[1]?.id });
    expect(next).toEqual(['b3', 's1']);
    // The cursor still works when the dead letter it names was discarded meanwhile.
    await transport.deadLetters.discard([first[1]?.id ?? '']);
    expect(await pick({ limit: 2, after: first[1]?.id })).toEqual(['b3', 's1']);
    await expect(transport.deadLetters.list({ after: 'not-an-id' })).rejects.toSatisfy((error) =>
      isTidingsError(error, 'TIDINGS_NOT_FOUND'),
    );
    await expect(transport.deadLetters.list({ limit: -1 })).rejects.toSatisfy((error) =>
      isTidingsError(error, 'TIDINGS_INVALID_OPTIONS'),
    );
  });

  it('discards dead letters and counts those that existed', async () => {
    const h = setup();
    const { transport } = h;
    await deadLetter(h, 'billing', ['b1', 'b2', 'b3']);
    const [one, two] = await transport.deadLetters.list({});
    expect(
      await transport.deadLetters.discard([one?.id ?? '', two?.id ?? '', one?.id ?? '', 'missing']),
    ).toBe(2);
    expect((await transport.deadLetters.list({})).map((r) => r.message.id)).toEqual(['b3']);
    expect(await transport.deadLetters.discard([])).toBe(0);
  });

  it('reports the depth and oldest dead letter of each group', async () => {
    const h = setup();
    const { transport, clock } = h;
    expect(await transport.deadLetters.depth()).toEqual([]);
    const start = clock.now();
    await deadLetter(h, 'shipping', ['s1']);
    await deadLetter(h, 'billing', ['b1', 'b2']);
    expect(await transport.deadLetters.depth()).toEqual([
      { group: 'billing', count: 2, oldestAt: start + 20 },
      { group: 'shipping', count: 1, oldestAt: start + 10 },
    ]);
  });
});
