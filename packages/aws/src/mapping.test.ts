import { describe, expect, it } from 'vitest';
import type { TransportMessage } from '@tidings/core';
import {
  decodeMessage,
  encodeMessage,
  fifoFields,
  MAX_POLICY_TOPICS,
  namesFor,
  policyTopics,
  safeJson,
  topicPolicy,
} from './mapping.ts';

const message = (overrides: Partial<TransportMessage> = {}): TransportMessage => ({
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  topic: 'ParcelScanned',
  key: 'order-7',
  headers: { 'ce-type': 'ParcelScanned', 'content-type': 'application/json', 'x-note': 'Grüße ✓' },
  body: new TextEncoder().encode('{"n":7}'),
  ...overrides,
});

/** What SQS hands a consumer after raw delivery: the body and the attributes as sent. */
const delivered = (encoded: ReturnType<typeof encodeMessage>) => ({
  MessageId: 'sqs-id',
  Body: encoded.body,
  MessageAttributes: Object.fromEntries(
    Object.entries(encoded.attributes).map(([name, value]) => [name, { StringValue: value.StringValue }]),
  ),
});

describe('names', () => {
  it('names a topic <prefix>-<channel>, with .fifo when FIFO', () => {
    expect(namesFor('shop', false).topic('orders')).toBe('shop-orders');
    expect(namesFor('shop', true).topic('orders')).toBe('shop-orders.fifo');
  });

  it('names queues within 80 valid characters, and keeps pairs that join alike apart', () => {
    const names = namesFor('shop', true);
    const long = names.queue('c'.repeat(70), 'g'.repeat(70));
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+\.fifo$/);
    expect(names.queue('a-b', 'c')).not.toBe(names.queue('a', 'b-c'));
    expect(names.queue('orders', 'billing')).toMatch(/^shop-orders-billing-[0-9a-f]{8}\.fifo$/);
  });

  it('replaces characters SNS refuses in topic names, keeping the name unique', () => {
    const topic = namesFor('shop', false).topic('orders.eu');
    expect(topic).toMatch(/^shop-orders_eu-[0-9a-f]{8}$/);
    expect(topic).not.toBe(namesFor('shop', false).topic('orders_eu'));
  });
});

describe('encodeMessage and decodeMessage', () => {
  it('round-trips a text body, the key and every header in three attributes', () => {
    const sent = message();
    const encoded = encodeMessage(sent);
    expect(Object.keys(encoded.attributes).sort()).toEqual(['subject', 'tidings', 'topic']);
    expect(encoded.body).toBe('{"n":7}');
    expect(decodeMessage(delivered(encoded))).toEqual({ ...sent, body: expect.any(Uint8Array) });
    expect(Buffer.from(decodeMessage(delivered(encoded)).body).toString()).toBe('{"n":7}');
  });

  it('sends a body SQS would refuse as base64, and gets the same bytes back', () => {
    const bytes = Uint8Array.from([0, 1, 2, 0xff, 0xfe, 0x80]);
    const encoded = encodeMessage(message({ body: bytes }));
    expect(encoded.body).toBe(Buffer.from(bytes).toString('base64'));
    expect([...decodeMessage(delivered(encoded)).body]).toEqual([...bytes]);
  });

  it('counts body and attributes as SNS does', () => {
    const encoded = encodeMessage(message({ headers: { big: 'x'.repeat(1000) } }));
    expect(encoded.bytes).toBeGreaterThan(1000 + '{"n":7}'.length);
  });

  it('reads a message sent by someone else as one without headers, for the bus to judge', () => {
    expect(decodeMessage({ MessageId: 'm-1', Body: 'hello', MessageAttributes: {} })).toMatchObject({
      id: 'm-1',
      topic: '',
      headers: {},
    });
  });

  it('escapes the characters JSON keeps but SQS refuses', () => {
    expect(safeJson({ a: '\uFFFF' })).toBe('{"a":"\\uffff"}');
    expect(JSON.parse(safeJson({ a: '\uFFFE' }))).toEqual({ a: '\uFFFE' });
  });
});

describe('fifoFields', () => {
  it('groups by subject and deduplicates by id', () => {
    expect(fifoFields(message())).toEqual({
      MessageGroupId: 'order-7',
      MessageDeduplicationId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    });
  });

  it('hashes a subject SQS refuses as a group id, and gives a keyless message a group of its own', () => {
    expect(fifoFields(message({ key: 'Zürich/東京 ✓' })).MessageGroupId).toMatch(/^h-[0-9a-f]{64}$/);
    const { key: _key, ...keyless } = message();
    expect(fifoFields(keyless).MessageGroupId).toBe('id:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b');
  });
});

describe('filter policies', () => {
  it('lists the topics of a subscription, and reads them back', () => {
    const policy = topicPolicy(['B', 'A', 'B']);
    expect(policy).toBe('{"topic":["A","B"]}');
    expect(policyTopics(policy)).toEqual(['A', 'B']);
  });

  it('gives up on more topics than SNS allows, and on policies it did not write', () => {
    expect(topicPolicy(Array.from({ length: MAX_POLICY_TOPICS + 1 }, (_, i) => `T${i}`))).toBeUndefined();
    expect(policyTopics('{"topic":["A"],"region":["eu"]}')).toBeUndefined();
    expect(policyTopics(undefined)).toBeUndefined();
  });
});
