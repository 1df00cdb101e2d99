import { describe, expect, it } from 'vitest';
import type { TransportMessage } from '@tidings/core';
import {
  decodeMessage,
  delayBucket,
  encodeMessage,
  frame,
  HEADER,
  historyOf,
  MAX_DELAY_MS,
  namesFor,
  retryHeaders,
  unframe,
} from './mapping.ts';

const message = (overrides: Partial<TransportMessage> = {}): TransportMessage => ({
  id: 'm-1',
  topic: 'OrderPlaced',
  key: 'order-1',
  headers: { 'ce-id': 'm-1', 'content-type': 'application/json' },
  body: new TextEncoder().encode('{"n":1}'),
  ...overrides,
});

/** What amqplib would hand a consumer for what it was given to publish. */
function roundTrip(sent: TransportMessage, extraHeaders: Record<string, unknown> = {}): TransportMessage {
  const { content, properties } = encodeMessage(sent);
  return decodeMessage({
    content,
    properties: { ...properties, headers: { ...properties.headers, ...extraHeaders } },
  });
}

describe('delayBucket', () => {
  it('never returns a bucket shorter than the delay, and at most a fifth longer', () => {
    for (let delay = 2; delay < 10_000_000; delay = Math.ceil(delay * 1.07)) {
      const bucket = delayBucket(delay);
      expect(bucket).toBeGreaterThanOrEqual(delay);
      if (delay >= 16) expect(bucket / delay).toBeLessThan(1.2);
    }
  });

  it('puts nearby delays in one bucket, so a few queues serve every delay', () => {
    // Four buckets per doubling: every delay up to about 17 minutes in at most 80 queues.
    const buckets = new Set(Array.from({ length: 1_000_000 }, (_, i) => delayBucket(i + 1)));
    expect(buckets.size).toBeLessThanOrEqual(80);
    expect(delayBucket(300)).toBe(delayBucket(301));
  });

  it('clamps to what RabbitMQ accepts as a TTL', () => {
    expect(delayBucket(0)).toBe(1);
    expect(delayBucket(-5)).toBe(1);
    expect(delayBucket(1e12)).toBe(MAX_DELAY_MS);
  });
});

describe('names', () => {
  it('keeps the transport’s own queues apart from any channel', () => {
    const names = namesFor('shop');
    expect(names.exchange('orders')).toBe('shop.orders');
    expect(names.queue('orders', 'billing')).toBe('shop.orders.billing');
    expect(names.delay(512)).toBe('shop.~delay.512');
    expect(names.deadLetters).toBe('shop.~dead-letters');
  });
});

describe('encodeMessage / decodeMessage', () => {
  it('carries small headers as AMQP headers, with the key, id and topic', () => {
    const sent = message();
    const { content, properties } = encodeMessage(sent);
    expect(properties).toMatchObject({ messageId: 'm-1', type: 'OrderPlaced', persistent: true });
    expect(properties.headers).toEqual({ ...sent.headers, [HEADER.key]: 'order-1' });
    expect(content.toString()).toBe('{"n":1}');
    expect(roundTrip(sent)).toEqual(sent);
  });

  it('moves headers into the content when they would not fit one frame, and reads them back', () => {
    const sent = message({ headers: { 'x-large': 'a'.repeat(64 * 1024), 'ce-id': 'm-1' } });
    const { properties } = encodeMessage(sent);
    expect(Object.keys(properties.headers)).toEqual([HEADER.framed]);
    expect(roundTrip(sent)).toEqual(sent);
  });

  it('frames headers whose names the broker or the transport use, or that UTF-8 cannot carry', () => {
    for (const headers of [{ 'x-death': 'mine' }, { [HEADER.tries]: '3' }, { 'x-lone': '\uD800 alone' }]) {
      const sent = message({ headers });
      expect(encodeMessage(sent).properties.headers).toEqual({ [HEADER.framed]: 1 });
      expect(roundTrip(sent)).toEqual(sent);
    }
  });

  it('leaves out the headers of the broker and the transport when reading', () => {
    const received = roundTrip(message(), { 'x-delivery-count': 2, 'x-death': [{}], [HEADER.tries]: 1 });
    expect(received.headers).toEqual(message().headers);
  });

  it('reads a hand-made message without any of its own properties', () => {
    const received = decodeMessage({
      content: Buffer.from('hi'),
      properties: {},
      fields: { routingKey: 'Ping' },
    });
    expect(received).toEqual({ id: '', topic: 'Ping', headers: {}, body: new Uint8Array(Buffer.from('hi')) });
  });

  it('reads a body with a damaged frame as plain content', () => {
    const received = decodeMessage({
      content: Buffer.from([0, 0, 9, 9, 1]),
      properties: { headers: { [HEADER.framed]: 1 } },
    });
    expect(received.headers).toEqual({});
    expect(Buffer.from(received.body)).toEqual(Buffer.from([0, 0, 9, 9, 1]));
  });
});

describe('frame / unframe', () => {
  it('round-trips JSON and bytes, and refuses what is too short', () => {
    const framed = unframe(frame({ a: 1 }, new Uint8Array([1, 2, 3])));
    expect(framed?.meta).toEqual({ a: 1 });
    expect([...(framed?.body ?? [])]).toEqual([1, 2, 3]);
    expect(unframe(Buffer.from([0, 0]))).toBeUndefined();
  });
});

describe('historyOf / retryHeaders', () => {
  it('counts a first delivery as attempt 1', () => {
    expect(historyOf({})).toEqual({ attempt: 1, previousTries: 0, firstFailedAt: undefined });
  });

  it('adds the broker’s returns of this copy to the deliveries before it', () => {
    const table = {
      [HEADER.attempts]: 3,
      [HEADER.tries]: 4,
      [HEADER.firstFailedAt]: 1_000,
      'x-delivery-count': 2,
    };
    expect(historyOf(table)).toEqual({ attempt: 6, previousTries: 4, firstFailedAt: 1_000 });
  });

  it('keeps the message’s headers and drops the broker’s when re-publishing', () => {
    const table = {
      'ce-id': 'm-1',
      [HEADER.key]: 'k',
      'x-delivery-count': 1,
      'x-death': [],
      'x-first-death-queue': 'q',
    };
    expect(retryHeaders(table, { attempt: 2, previousTries: 3, firstFailedAt: 5 })).toEqual({
      'ce-id': 'm-1',
      [HEADER.key]: 'k',
      [HEADER.attempts]: 2,
      [HEADER.tries]: 3,
      [HEADER.firstFailedAt]: 5,
    });
  });
});
