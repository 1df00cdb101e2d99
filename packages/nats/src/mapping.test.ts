import { describe, expect, it } from 'vitest';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  ENVELOPE_BYTES_HEADER,
  ENVELOPE_HEADER,
  escapeName,
  MSG_ID_HEADER,
  namesFor,
  toNatsMessage,
  toTransportMessage,
  unescapeName,
} from './mapping.ts';

describe('name escaping', () => {
  it('keeps plain names as they are', () => {
    expect(escapeName('billing-v2')).toBe('billing-v2');
  });

  it('escapes dots, wildcards, underscores and unicode, and reverses exactly', () => {
    for (const name of ['orders.v1', 'a*b>c', 'with_underscore', 'Zürich/東京 ✓', '_5f']) {
      const token = escapeName(name);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(token).not.toMatch(/[.*>]/);
      expect(unescapeName(token)).toBe(name);
    }
    // One-to-one: a name that looks like an escape is escaped itself.
    expect(escapeName('a.b')).not.toBe(escapeName('a_2eb'));
  });

  it('maps channel subjects and dead-letter subjects back to their names', () => {
    const names = namesFor('tidings');
    expect(names.parseChannelSubject(names.topicSubject('shop.orders', 'Order.Placed'))).toEqual({
      group: undefined,
      topic: 'Order.Placed',
    });
    expect(names.parseChannelSubject(names.groupSubject('shop', 'billing.eu', 'T'))).toEqual({
      group: 'billing.eu',
      topic: 'T',
    });
    expect(names.parseDeadLetterSubject(names.deadLetterSubject('shop.orders', 'billing.eu'))).toEqual({
      channel: 'shop.orders',
      group: 'billing.eu',
    });
    expect(names.channelStream('shop.orders')).toBe('tidings_ch_shop_2eorders');
  });
});

describe('message mapping', () => {
  const message = {
    id: 'm-1',
    topic: 'T',
    key: 'k\r\n ',
    headers: { 'ce-x': ' ünïcødé ✓ \n', 'content-type': 'application/json' },
    body: new Uint8Array([0, 1, 2, 255]),
  };

  it('keeps every header, the key and the body through the envelope', () => {
    const nats = toNatsMessage(message, message.id);
    expect(nats.headers.get(MSG_ID_HEADER)).toBe('m-1');
    expect(nats.headers.get(ENVELOPE_HEADER)).not.toBe('');
    expect(toTransportMessage(nats.headers, nats.data, 'fallback')).toEqual(message);
  });

  it('puts an envelope too large for a header in front of the body', () => {
    const large = { ...message, headers: { ...message.headers, 'x-large': 'x'.repeat(64 * 1024) } };
    const nats = toNatsMessage(large, undefined);
    expect(nats.headers.get(ENVELOPE_HEADER)).toBe('');
    expect(Number(nats.headers.get(ENVELOPE_BYTES_HEADER))).toBeGreaterThan(64 * 1024);
    expect(toTransportMessage(nats.headers, nats.data, 'fallback')).toEqual(large);
  });

  it('reads a hand-made message into one the bus can reject', () => {
    const headers = natsHeaders();
    headers.set(ENVELOPE_HEADER, 'not json');
    expect(toTransportMessage(headers, new Uint8Array([1]), 'T')).toEqual({
      id: '',
      topic: 'T',
      headers: {},
      body: new Uint8Array([1]),
    });
    expect(toTransportMessage(undefined, new Uint8Array(0), 'T').topic).toBe('T');
  });
});
