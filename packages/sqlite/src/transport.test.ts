import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTidingsError } from '@tidings/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_CAPABILITIES, sqliteTransport } from './transport.ts';
import {
  createManualClock,
  harness,
  message,
  recorder,
  settle,
  text,
  until,
} from './test-support/harness.ts';
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

const DELIVERIES = 'SELECT count(*) FROM tidings_deliveries';

describe('sqliteTransport', () => {
  it('declares what the conformance suite will check', () => {
    const { transport } = setup();
    expect(transport.name).toBe('sqlite');
    expect(transport.capabilities).toEqual(SQLITE_CAPABILITIES);
    expect(transport.capabilities).toMatchObject({
      persistent: true,
      consumerGroups: true,
      ordering: 'per-subject',
      delayedDelivery: true,
      deliveryCounter: true,
      leases: true,
      duplicates: 'only-after-failure',
      maxMessageBytes: 16 * 1024 * 1024,
    });
  });

  it('delivers a published message once and forgets it after ack', async () => {
    const { transport, clock, consumeOptions, count } = setup();
    const { seen, handler } = recorder((delivery) => delivery.ack());
    await transport.consume(consumeOptions(), handler);
    const sent = message('m-1', { key: 'order-1', headers: { 'ce-id': 'm-1', 'ce-type': 'OrderPlaced' } });
    await transport.publish('orders', [sent]);
    await until(() => seen.length === 1, 'the delivery');
    const [delivery] = seen;
    expect(delivery?.message).toEqual({ ...sent, body: expect.any(Uint8Array) });
    expect(text(delivery?.message.body ?? new Uint8Array())).toBe('{"id":"m-1"}');
    expect(delivery).toMatchObject({
      group: 'billing',
      attempt: 1,
      previousTries: 0,
      firstFailedAt: undefined,
    });
    await until(() => count(DELIVERIES) === 0, 'the ack to commit');
    await clock.advance(120_000);
    await settle();
    expect(seen).toHaveLength(1);
  });

  it('resolves publish after the messages and their deliveries are committed', async () => {
    const { transport, consumeOptions, count } = setup();
    const consumer = await transport.consume(consumeOptions(), recorder().handler);
    await consumer.close();
    await transport.publish('orders', [message('a'), message('b'), message('c')]);
    expect(count('SELECT count(*) FROM tidings_messages')).toBe(3);
    expect(count(DELIVERIES)).toBe(3);
  });

  it('publishes a large batch in order, fanned out to exactly the subscribed groups', async () => {
    const { transport, consumeOptions, count } = setup();
    for (const [group, topics, ordered] of [
      ['billing', ['OrderPlaced'], false],
      ['audit', ['OrderPlaced', 'OrderShipped'], true],
    ] as const) {
      const consumer = await transport.consume(
        consumeOptions({ group, topics: [...topics], ordered }),
        recorder().handler,
      );
      await consumer.close();
    }
    // 149 = 2×64 + 16 + 4 + 1: every statement size the batch insert uses.
    const batch = Array.from({ length: 149 }, (_, i) =>
      message(`m-${i}`, {
        topic: i % 3 === 0 ? 'OrderShipped' : 'OrderPlaced',
        key: i % 2 ? `k-${i % 5}` : undefined,
      }),
    );
    await transport.publish('orders', batch);
    const stored = transport.database
      .prepare<[], { id: string; key: string | null }>('SELECT id, key FROM tidings_messages ORDER BY seq')
      .all();
    expect(stored).toEqual(batch.map((m) => ({ id: m.id, key: m.key ?? null })));
    const placed = batch.filter((m) => m.topic === 'OrderPlaced').length;
    expect(count("SELECT count(*) FROM tidings_deliveries WHERE group_name = 'billing'")).toBe(placed);
    expect(count("SELECT count(*) FROM tidings_deliveries WHERE group_name = 'audit'")).toBe(149);
    // Only the ordered group's deliveries carry the key: the others never touch the key index.
    const keyed = (group: string): number =>
      count(
        'SELECT count(*) FROM tidings_deliveries d JOIN tidings_messages m USING (seq) WHERE group_name = ? AND d.key IS m.key',
        group,
      );
    expect(keyed('audit')).toBe(149);
    expect(
      count("SELECT count(*) FROM tidings_deliveries WHERE group_name = 'billing' AND key IS NOT NULL"),
    ).toBe(0);
  });

  it('picks up work another connection published within pollIntervalMs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-poll-'));
    try {
      const clock = createManualClock();
      const file = join(dir, 'shared.db');
      const consumerSide = sqliteTransport({ file, clock, pollIntervalMs: 100 });
      const publisherSide = sqliteTransport({ file, clock, pollIntervalMs: 100 });
      const { seen, handler } = recorder((delivery) => delivery.ack());
      await consumerSide.consume(harness().consumeOptions(), handler);
      await settle();
      await publisherSide.publish('orders', [message('m-1')]);
      await settle();
      expect(seen).toHaveLength(0);
      await clock.advance(100);
      await until(() => seen.length === 1, 'the poll to find it');
      await Promise.all([consumerSide.close(), publisherSide.close()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers only the topics a consumer asked for', async () => {
    const { transport, consumeOptions } = setup();
    const { seen, handler } = recorder((delivery) => delivery.ack());
    await transport.consume(consumeOptions({ topics: ['OrderPlaced'] }), handler);
    await transport.publish('orders', [message('x', { topic: 'OrderShipped' }), message('y')]);
    await until(() => seen.length === 1, 'the delivery');
    await settle();
    expect(seen.map((d) => d.message.id)).toEqual(['y']);
  });

  it('fans a message out to every group, and shares it among the members of one group', async () => {
    const { transport, consumeOptions } = setup();
    const billing1 = recorder();
    const billing2 = recorder();
    const shipping = recorder((delivery) => delivery.ack());
    await transport.consume(consumeOptions({ concurrency: 1 }), billing1.handler);
    await transport.consume(consumeOptions({ concurrency: 1 }), billing2.handler);
    await transport.consume(consumeOptions({ group: 'shipping' }), shipping.handler);
    const ids = Array.from({ length: 10 }, (_, i) => `m-${i}`);
    await transport.publish(
      'orders',
      ids.map((id) => message(id)),
    );

    await until(() => shipping.seen.length === 10, 'shipping to get every message');
    // Each billing member holds one unsettled delivery at a time; acking lets it take the next.
    await until(
      () => billing1.seen.length === 1 && billing2.seen.length === 1,
      'both billing members to get one',
    );
    const billing = () => [...billing1.seen, ...billing2.seen];
    while (billing().length < 10) {
      const before = billing().length;
      await Promise.all(billing().map((delivery) => delivery.ack()));
      await until(() => billing().length > before || before === 10, 'more billing deliveries');
    }
    await Promise.all(billing().map((delivery) => delivery.ack()));
    await settle();
    expect(
      billing()
        .map((d) => d.message.id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(billing1.seen.length).toBeGreaterThan(0);
    expect(billing2.seen.length).toBeGreaterThan(0);
    expect(shipping.seen.map((d) => d.message.id).sort()).toEqual([...ids].sort());
  });

  it('gives a group only what was published after it first subscribed, and keeps it while offline', async () => {
    const { transport, consumeOptions } = setup();
    await transport.publish('orders', [message('before')]);
    const first = await transport.consume(consumeOptions(), recorder().handler);
    await first.close();
    await transport.publish('orders', [message('while-offline')]);
    const { seen, handler } = recorder((delivery) => delivery.ack());
    await transport.consume(consumeOptions(), handler);
    await until(() => seen.length === 1, 'the delivery');
    await settle();
    expect(seen.map((d) => d.message.id)).toEqual(['while-offline']);
  });

  it('keeps at most `concurrency` deliveries unsettled', async () => {
    const { transport, consumeOptions } = setup();
    const gates: (() => void)[] = [];
    let unsettled = 0;
    let most = 0;
    const { seen, handler } = recorder(async (delivery) => {
      unsettled += 1;
      most = Math.max(most, unsettled);
      await new Promise<void>((resolve) => gates.push(resolve));
      unsettled -= 1;
      await delivery.ack();
    });
    await transport.consume(consumeOptions({ concurrency: 3 }), handler);
    await transport.publish(
      'orders',
      Array.from({ length: 7 }, (_, i) => message(`m-${i}`)),
    );
    await until(() => seen.length === 3, 'three deliveries');
    await settle();
    expect(seen).toHaveLength(3);
    while (seen.length < 7 || unsettled > 0) {
      for (const open of gates.splice(0)) open();
      await settle(5);
    }
    expect(most).toBe(3);
    expect(seen).toHaveLength(7);
  });

  it('holds the slot of a delivery its handler left unsettled until the lease runs out', async () => {
    const { transport, clock, consumeOptions } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions({ concurrency: 2, leaseMs: 1000 }), handler);
    await transport.publish('orders', [message('m-1'), message('m-2'), message('m-3')]);
    await until(() => seen.length === 2, 'two deliveries');
    await settle();
    expect(seen.map((d) => d.message.id)).toEqual(['m-1', 'm-2']);
    await seen[0]?.ack();
    await until(() => seen.length === 3, 'the freed slot to take m-3');
    await clock.advance(1000);
    // m-2 and m-3 ran out of lease: their slots free, and they come back to this consumer.
    await until(() => seen.length === 5, 'the redeliveries');
    expect(seen.slice(3).map((d) => [d.message.id, d.attempt])).toEqual([
      ['m-2', 2],
      ['m-3', 2],
    ]);
  });

  it('redelivers after nack with a delay, not before, with attempt = 2', async () => {
    const { transport, clock, consumeOptions } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions(), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 1, 'the first delivery');
    const failedAt = clock.now();
    await seen[0]?.nack({ delayMs: 1000, tries: 3 });
    await clock.advance(999);
    await settle();
    expect(seen).toHaveLength(1);
    await clock.advance(1);
    await until(() => seen.length === 2, 'the redelivery');
    expect(seen[1]).toMatchObject({ attempt: 2, previousTries: 3, firstFailedAt: failedAt });
    // A second failure keeps the first failure time and adds up the tries.
    await clock.advance(10);
    await seen[1]?.nack({ tries: 2, failedAt: clock.now() });
    await until(() => seen.length === 3, 'the third delivery');
    expect(seen[2]).toMatchObject({ attempt: 3, previousTries: 5, firstFailedAt: failedAt });
  });

  it('redelivers after the lease expires with attempt + 1, and the stale settles do nothing', async () => {
    const { transport, clock, consumeOptions, count } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions({ leaseMs: 5000 }), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 1, 'the first delivery');
    await clock.advance(4999);
    await settle();
    expect(seen).toHaveLength(1);
    await clock.advance(1);
    await until(() => seen.length === 2, 'the redelivery');
    const [stale, current] = seen;
    expect(current?.attempt).toBe(2);

    await stale?.ack();
    await stale?.touch();
    await settle();
    expect(count(DELIVERIES)).toBe(1);
    expect(count('SELECT count(*) FROM tidings_dead_letters')).toBe(0);
    await current?.ack();
    expect(count(DELIVERIES)).toBe(0);
  });

  it('ignores a nack or a dead letter from a worker that lost its lease', async () => {
    const { transport, clock, consumeOptions, count } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions({ leaseMs: 100 }), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 1, 'the first delivery');
    await clock.advance(100);
    await until(() => seen.length === 2, 'the redelivery');
    await seen[0]?.nack({ delayMs: 60_000 });
    await seen[0]?.deadLetter({
      handler: 'h',
      error: { name: 'Error', message: 'late' },
      attempts: 1,
      firstFailedAt: 0,
      lastFailedAt: 0,
      fingerprint: 'f',
      reason: 'exhausted',
    });
    expect(count('SELECT count(*) FROM tidings_dead_letters')).toBe(0);
    expect(count('SELECT count(*) FROM tidings_deliveries WHERE lease_token IS NOT NULL')).toBe(1);
  });

  it('keeps the lease of a delivery that is touched', async () => {
    const { transport, clock, consumeOptions } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions({ leaseMs: 1000 }), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 1, 'the delivery');
    await clock.advance(900);
    await seen[0]?.touch();
    await clock.advance(900);
    await settle();
    expect(seen).toHaveLength(1);
    await clock.advance(100);
    await until(() => seen.length === 2, 'the redelivery once the extended lease ran out');
  });

  it('settles a delivery once: the first of ack, nack and deadLetter wins', async () => {
    const { transport, clock, consumeOptions, count } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions(), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 1, 'the delivery');
    await seen[0]?.nack();
    await seen[0]?.ack();
    await until(() => seen.length === 2, 'the redelivery');
    expect(count(DELIVERIES)).toBe(1);
    await clock.advance(1);
  });

  it('nacks without delay when a handler throws, reports it, and keeps consuming', async () => {
    const { transport, consumeOptions, errors } = setup();
    const { seen, handler } = recorder((delivery) => {
      if (delivery.attempt === 1) throw new Error('boom');
      return delivery.ack();
    });
    await transport.consume(consumeOptions(), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 2, 'the redelivery');
    expect(seen[1]).toMatchObject({ attempt: 2, previousTries: 1 });
    expect(errors).toMatchObject([
      { error: { message: 'boom' }, context: { where: 'handler', group: 'billing' } },
    ]);
  });

  it('on close, lets the deliveries in flight finish and nothing acked comes back', async () => {
    const { transport, consumeOptions, count } = setup();
    let open: (() => void) | undefined;
    const { seen, handler } = recorder(async (delivery) => {
      await new Promise<void>((resolve) => {
        open = resolve;
      });
      await delivery.ack();
    });
    const consumer = await transport.consume(consumeOptions(), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => open !== undefined, 'the handler to start');
    let closed = false;
    const closing = consumer.close().then(() => {
      closed = true;
    });
    await transport.publish('orders', [message('m-2')]);
    await settle();
    expect(closed).toBe(false);
    open?.();
    await closing;
    expect(seen.map((d) => d.message.id)).toEqual(['m-1']);
    expect(count('SELECT count(*) FROM tidings_deliveries WHERE seq = 1')).toBe(0);
    expect(count('SELECT count(*) FROM tidings_deliveries WHERE lease_token IS NOT NULL')).toBe(0);
  });

  it('on close past the deadline, releases unsettled deliveries without counting another attempt', async () => {
    const { transport, clock, consumeOptions, count } = setup();
    const { seen, handler } = recorder(() => new Promise<void>(() => undefined));
    const consumer = await transport.consume(consumeOptions({ leaseMs: 60_000 }), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 1, 'the delivery');
    const closing = consumer.close({ timeoutMs: 500 });
    await settle();
    await clock.advance(500);
    await closing;
    const released =
      'SELECT count(*) FROM tidings_deliveries WHERE lease_token IS NULL AND attempt = 1 AND available_at = ?';
    expect(count(released, clock.now())).toBe(1);
    await seen[0]?.ack();
    expect(count(DELIVERIES)).toBe(1);

    const next = recorder((delivery) => delivery.ack());
    await transport.consume(consumeOptions(), next.handler);
    await until(() => next.seen.length === 1, 'the released delivery');
    expect(next.seen[0]?.attempt).toBe(2);
  });

  it('lets handlers still draining publish, but takes no new consumer once close has begun', async () => {
    const { transport, consumeOptions } = setup();
    let finish: (() => void) | undefined;
    let published = false;
    const { seen, handler } = recorder(async (delivery) => {
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      await transport.publish('orders', [message('follow-up', { topic: 'PaymentCaptured' })]);
      published = true;
      await delivery.ack();
    });
    await transport.consume(consumeOptions(), handler);
    await transport.publish('orders', [message('m-1')]);
    await until(() => seen.length === 1, 'the delivery');
    const closing = transport.close();
    await expect(transport.consume(consumeOptions({ group: 'late' }), recorder().handler)).rejects.toSatisfy(
      (error) => isTidingsError(error, 'TIDINGS_CLOSED'),
    );
    finish?.();
    await closing;
    expect(published).toBe(true);
    expect(transport.database.open).toBe(false);
  });

  it('refuses to publish or consume once closed, and closing twice is safe', async () => {
    const { transport, consumeOptions } = setup();
    await transport.close();
    await transport.close();
    const publishing = transport.publish('orders', [message('m')]);
    await expect(publishing).rejects.toSatisfy((error) => isTidingsError(error, 'TIDINGS_CLOSED'));
    const consuming = transport.consume(consumeOptions(), recorder().handler);
    await expect(consuming).rejects.toSatisfy((error) => isTidingsError(error, 'TIDINGS_CLOSED'));
    await expect(transport.deadLetters.depth()).rejects.toSatisfy((error) =>
      isTidingsError(error, 'TIDINGS_CLOSED'),
    );
  });

  it('closes a database it opened, and leaves open one it was given', async () => {
    const owned = sqliteTransport({ file: ':memory:' });
    await owned.close();
    expect(owned.database.open).toBe(false);
    const { transport: first } = setup();
    const borrowed = sqliteTransport({ database: first.database });
    await borrowed.close();
    expect(first.database.open).toBe(true);
  });

  it('rejects a batch with one bad message and publishes none of it', async () => {
    const { transport, count } = setup();
    const tooBig = message('big', { body: new Uint8Array(16 * 1024 * 1024 + 1) });
    await expect(transport.publish('orders', [message('ok'), tooBig])).rejects.toSatisfy((error) =>
      isTidingsError(error, 'TIDINGS_UNSUPPORTED'),
    );
    const broken = { id: 'x', topic: '', headers: {}, body: 'nope' } as never;
    await expect(transport.publish('', [message('ok'), broken])).rejects.toThrow(
      /3 problems: \(1\) channel .* \(2\) messages\[1\]\.topic .* \(3\) messages\[1\]\.body/,
    );
    expect(count('SELECT count(*) FROM tidings_messages')).toBe(0);
  });

  it('lists every problem with the consume options at once', async () => {
    const { transport } = setup();
    const bad = { channel: '', group: 7, topics: [], concurrency: 0, leaseMs: -1, ordered: 'yes' } as never;
    const error = await transport.consume(bad, 'not a handler' as never).catch((caught: unknown) => caught);
    expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    expect((error as { details: { problems: string[] } }).details.problems).toEqual([
      'handler must be a function (got "not a handler")',
      'channel must be a non-empty string (got "")',
      'group must be a non-empty string (got 7)',
      'topics must be a non-empty array of topic names (got an empty array)',
      'concurrency must be an integer >= 1 (got 0)',
      'leaseMs must be a finite number > 0 (got -1)',
      'ordered must be a boolean (got "yes")',
    ]);
  });

  it('cleans up messages every group settled once retention has passed, and keeps the rest', async () => {
    const { transport, clock, consumeOptions, count } = setup({ retentionMs: 10_000 });
    const { seen, handler } = recorder((delivery) =>
      delivery.message.id === 'keep' ? undefined : delivery.ack(),
    );
    await transport.consume(consumeOptions(), handler);
    await transport.publish('orders', [
      message('done'),
      message('keep'),
      message('no-subscriber', { topic: 'Other' }),
    ]);
    await until(() => seen.length === 2, 'both deliveries');
    await settle();
    await clock.advance(9_000);
    await transport.publish('orders', [message('fresh')]);
    expect(count('SELECT count(*) FROM tidings_messages')).toBe(4);
    await clock.advance(2_000);
    await until(() => count('SELECT count(*) FROM tidings_messages') === 2, 'the cleanup');
    const ids = transport.database.prepare('SELECT id FROM tidings_messages ORDER BY seq').pluck().all();
    expect(ids).toEqual(['keep', 'fresh']);
  });
});
