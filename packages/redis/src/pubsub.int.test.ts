import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { type Delivery, isTidingsError, type TransportMessage } from '@tidings/core';
import { eventually, gate, startTcpProxy } from '@tidings/core/testing';
import type { RedisPubSubErrorContext } from './pubsub-options.ts';
import { type RedisPubSubTransport, redisPubSubTransport } from './pubsub.ts';
import { deletePrefix, REDIS_TEST_PORT, REDIS_TEST_URL, redisAvailable } from './test-support/server.ts';

const available = await redisAvailable();
const prefixes: string[] = [];
const transports: RedisPubSubTransport[] = [];
afterAll(async () => {
  await Promise.all(transports.map((transport) => transport.close()));
  await Promise.all(prefixes.map((prefix) => deletePrefix(prefix)));
});

function open(options: Parameters<typeof redisPubSubTransport>[0] = {}): RedisPubSubTransport {
  const transport = redisPubSubTransport({ url: REDIS_TEST_URL, onError: () => undefined, ...options });
  transports.push(transport);
  return transport;
}

const message = (n: number): TransportMessage => ({
  id: randomUUID(),
  topic: 'PriceChanged',
  headers: { 'content-type': 'application/json' },
  body: new TextEncoder().encode(JSON.stringify({ n })),
});

const consume = (group: string, channel: string, concurrency = 4) => ({
  channel,
  group,
  topics: ['PriceChanged'],
  concurrency,
  ordered: false,
  leaseMs: 30_000,
});

describe.skipIf(!available)('redis-pubsub on a real server', () => {
  test('every transport consuming a group gets every message: groups do not span processes', async () => {
    const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const [a, b] = [open({ prefix }), open({ prefix })] as const;
    const got: [Set<string>, Set<string>] = [new Set(), new Set()];
    for (const [i, transport] of [a, b].entries()) {
      await transport.consume(consume('views', 'prices'), async (delivery) => {
        got[i]?.add(delivery.message.id);
        await delivery.ack();
      });
    }
    const sent = Array.from({ length: 20 }, (_, n) => message(n));
    const heard = await a.publishCounted('prices', sent);
    expect(heard).toEqual(sent.map(() => 2));
    await eventually(() => got[0].size === 20 && got[1].size === 20, {
      what: () => `${got[0].size} and ${got[1].size} of 20`,
    });
  });

  test('a message nobody is subscribed to is heard by 0 and is gone', async () => {
    const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const transport = open({ prefix });
    const missed = message(1);
    expect(await transport.publishCounted('prices', [missed])).toEqual([0]);
    const got: string[] = [];
    await transport.consume(consume('late', 'prices'), async (delivery) => {
      got.push(delivery.message.id);
      await delivery.ack();
    });
    const marker = message(2);
    expect(await transport.publishCounted('prices', [marker])).toEqual([1]);
    await eventually(() => got.includes(marker.id), { what: 'the marker' });
    expect(got).toEqual([marker.id]);
  });

  test('keeps a dead letter when no consumer of its group is there to hear the replay', async () => {
    const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const transport = open({ prefix });
    const consumer = await transport.consume(consume('billing', 'orders'), async (delivery) => {
      await delivery.deadLetter({
        handler: 'charge',
        error: { name: 'Error', message: 'declined' },
        attempts: 1,
        firstFailedAt: 1,
        lastFailedAt: 1,
        fingerprint: 'Error:declined:charge',
        reason: 'exhausted',
      });
    });
    await transport.publish('orders', [message(1)]);
    await eventually(async () => (await transport.deadLetters.list({ group: 'billing' })).length === 1, {
      what: 'the dead letter',
    });
    await consumer.close();
    const [record] = await transport.deadLetters.list({ group: 'billing' });
    const refused = await transport.deadLetters.replay(record?.id ?? '').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isTidingsError(refused, 'TIDINGS_UNAVAILABLE')).toBe(true);
    expect(await transport.deadLetters.get(record?.id ?? '')).toEqual(record);
  });

  test('drops the oldest waiting message past maxBuffered, and says so', async () => {
    const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const reports: RedisPubSubErrorContext[] = [];
    const transport = open({ prefix, maxBuffered: 3, onError: (_error, context) => reports.push(context) });
    const hold = gate();
    const got: string[] = [];
    await transport.consume(consume('slow', 'prices', 1), async (delivery) => {
      got.push(delivery.message.id);
      await hold.opened;
      await delivery.ack();
    });
    const sent = Array.from({ length: 10 }, (_, n) => message(n));
    await transport.publish('prices', [sent[0] as TransportMessage]);
    await eventually(() => got.length === 1, { what: 'the first delivery' });
    await transport.publish('prices', sent.slice(1));
    await eventually(() => reports.some((r) => r.where === 'overflow'), { what: 'the overflow report' });
    hold.open();
    await eventually(() => got.length === 4, { what: () => `${got.length} of 4 delivered` });
    expect(got).toEqual([sent[0], ...sent.slice(7)].map((m) => m?.id));
  });

  test('fails publishes fast while the connection is cut, and hears again by itself once restored', async () => {
    const proxy = await startTcpProxy({ port: REDIS_TEST_PORT });
    const prefix = `tidings-test-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const reports: string[] = [];
    const transport = open({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix,
      onError: (_error, context) => reports.push(context.where),
    });
    try {
      const got = new Set<string>();
      await transport.consume(consume('live', 'prices'), async (delivery: Delivery) => {
        got.add(delivery.message.id);
        await delivery.ack();
      });
      proxy.cut();
      const failed = await transport.publish('prices', [message(1)]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isTidingsError(failed, 'TIDINGS_UNAVAILABLE')).toBe(true);
      proxy.restore();
      // Once both connections are back (and the subscription renewed), a publish is heard again.
      const marker = message(2);
      await eventually(
        async () => {
          const heard = await transport.publishCounted('prices', [marker]).catch(() => [0]);
          return heard[0] === 1;
        },
        { timeoutMs: 15_000, what: 'the subscription to come back' },
      );
      await eventually(() => got.has(marker.id), { what: 'the marker after the outage' });
      expect(reports).toContain('connection');
    } finally {
      await transport.close();
      await proxy.close();
    }
  });

  test('doctor: says a server without AOF loses dead letters, as a warning', async () => {
    const findings = await open().doctor();
    const checks = Object.fromEntries(findings.map((f) => [f.check, f.level]));
    expect(Object.keys(checks)).toEqual([
      'redis.version',
      'redis.pubsub-buffer',
      'redis.eviction',
      'redis.persistence',
      'redis.replication',
    ]);
    expect(findings.every((f) => f.level !== 'fail')).toBe(true);
  });
});
