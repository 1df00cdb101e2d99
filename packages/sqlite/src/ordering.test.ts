import { afterEach, describe, expect, it } from 'vitest';
import { harness, message, recorder, settle, until } from './test-support/harness.ts';
import type { Harness } from './test-support/harness.ts';

const open: Harness[] = [];
function setup(): Harness {
  const h = harness();
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.transport.close()));
});

const ids = (deliveries: { message: { id: string } }[]): string[] => deliveries.map((d) => d.message.id);

describe('sqliteTransport with ordered: true', () => {
  it('delivers the messages of one key one at a time, in publish order', async () => {
    const { transport, consumeOptions } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions({ ordered: true, concurrency: 10 }), handler);
    await transport.publish('orders', [
      message('a1', { key: 'a' }),
      message('a2', { key: 'a' }),
      message('a3', { key: 'a' }),
    ]);
    await until(() => seen.length === 1, 'the first message');
    await settle();
    expect(ids(seen)).toEqual(['a1']);
    await seen[0]?.ack();
    await until(() => seen.length === 2, 'the second message');
    await settle();
    expect(ids(seen)).toEqual(['a1', 'a2']);
    await seen[1]?.ack();
    await until(() => seen.length === 3, 'the third message');
    expect(ids(seen)).toEqual(['a1', 'a2', 'a3']);
  });

  it('parks a failing key while other keys flow, and keeps its order after the retry', async () => {
    const { transport, clock, consumeOptions } = setup();
    const { seen, handler } = recorder((delivery) => {
      if (delivery.message.id === 'a1' && delivery.attempt === 1) return delivery.nack({ delayMs: 5000 });
      return delivery.ack();
    });
    await transport.consume(consumeOptions({ ordered: true, concurrency: 10 }), handler);
    await transport.publish('orders', [
      message('a1', { key: 'a' }),
      message('b1', { key: 'b' }),
      message('a2', { key: 'a' }),
      message('b2', { key: 'b' }),
      message('b3', { key: 'b' }),
    ]);
    await until(() => ids(seen).includes('b3'), 'key b to flow');
    await settle();
    expect(ids(seen)).toEqual(['a1', 'b1', 'b2', 'b3']);

    await clock.advance(5000);
    await until(() => ids(seen).includes('a2'), 'key a to resume');
    expect(ids(seen)).toEqual(['a1', 'b1', 'b2', 'b3', 'a1', 'a2']);
    expect(seen[4]?.attempt).toBe(2);
  });

  it('holds a key while its head is leased, and releases it when the lease runs out', async () => {
    const { transport, clock, consumeOptions } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions({ ordered: true, concurrency: 10, leaseMs: 1000 }), handler);
    await transport.publish('orders', [message('k1', { key: 'k' }), message('k2', { key: 'k' })]);
    await until(() => seen.length === 1, 'the head');
    await clock.advance(999);
    await settle();
    expect(ids(seen)).toEqual(['k1']);
    // The lease ran out: the head is delivered again (attempt 2), still before k2.
    await clock.advance(1);
    await until(() => seen.length === 2, 'the head again');
    expect(ids(seen)).toEqual(['k1', 'k1']);
    expect(seen[1]?.attempt).toBe(2);
    await seen[1]?.ack();
    await until(() => seen.length === 3, 'the next of the key');
    expect(ids(seen)).toEqual(['k1', 'k1', 'k2']);
  });

  it('lets a dead-lettered head unblock its key', async () => {
    const { transport, consumeOptions } = setup();
    const { seen, handler } = recorder((delivery) =>
      delivery.message.id === 'k1'
        ? delivery.deadLetter({
            handler: 'charge',
            error: { name: 'Error', message: 'declined' },
            attempts: 1,
            firstFailedAt: 1,
            lastFailedAt: 1,
            fingerprint: 'Error:declined:charge',
            reason: 'non-retryable',
          })
        : delivery.ack(),
    );
    await transport.consume(consumeOptions({ ordered: true }), handler);
    await transport.publish('orders', [message('k1', { key: 'k' }), message('k2', { key: 'k' })]);
    await until(() => seen.length === 2, 'both messages');
    expect(ids(seen)).toEqual(['k1', 'k2']);
  });

  it('delivers messages without a key side by side', async () => {
    const { transport, consumeOptions } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions({ ordered: true, concurrency: 10 }), handler);
    await transport.publish('orders', [message('n1'), message('n2'), message('n3')]);
    await until(() => seen.length === 3, 'all three at once');
    expect(ids(seen)).toEqual(['n1', 'n2', 'n3']);
  });

  it('keeps the order of a key across the topics of one consumer', async () => {
    const { transport, consumeOptions } = setup();
    const { seen, handler } = recorder();
    await transport.consume(
      consumeOptions({ ordered: true, concurrency: 10, topics: ['OrderPlaced', 'OrderShipped'] }),
      handler,
    );
    await transport.publish('orders', [
      message('placed', { key: 'o-1', topic: 'OrderPlaced' }),
      message('shipped', { key: 'o-1', topic: 'OrderShipped' }),
    ]);
    await until(() => seen.length === 1, 'the first');
    await settle();
    expect(ids(seen)).toEqual(['placed']);
    await seen[0]?.ack();
    await until(() => seen.length === 2, 'the second');
    expect(ids(seen)).toEqual(['placed', 'shipped']);
  });

  it('does not order an unordered consumer', async () => {
    const { transport, consumeOptions } = setup();
    const { seen, handler } = recorder();
    await transport.consume(consumeOptions({ ordered: false, concurrency: 10 }), handler);
    await transport.publish('orders', [message('k1', { key: 'k' }), message('k2', { key: 'k' })]);
    await until(() => seen.length === 2, 'both at once');
  });
});
