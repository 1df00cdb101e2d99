import { afterEach, describe, expect, it } from 'vitest';
import { decodeBody, decodeHeaders, encodeHeaders, rowToMessage } from '@tidings/core';
import { harness, message, recorder, text, until } from './test-support/harness.ts';
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

describe('the message row mapping', () => {
  it('reads back any header value it wrote', () => {
    const headers = { a: 'x\ud800y', b: '\u0000', c: '🚚', 'ce-id': '"quoted"' };
    expect(decodeHeaders(encodeHeaders(headers))).toEqual(headers);
  });

  it('reads damaged columns as well as it can instead of throwing', () => {
    expect(decodeHeaders('{oops')).toEqual({});
    expect(decodeHeaders('null')).toEqual({});
    expect(decodeHeaders('[1]')).toEqual({});
    expect(decodeHeaders(7)).toEqual({});
    expect(decodeHeaders('{"a":"b","n":1,"o":{}}')).toEqual({ a: 'b' });
    expect(decodeBody(null)).toEqual(new Uint8Array());
    expect(decodeBody('é')).toEqual(new Uint8Array([0xc3, 0xa9]));
    expect(decodeBody(Buffer.from([1, 2]))).toEqual(new Uint8Array([1, 2]));
    expect(rowToMessage({ id: null, topic: 5, key: 3, headers: null, body: undefined })).toEqual({
      id: '',
      topic: '5',
      headers: {},
      body: new Uint8Array(),
    });
  });
});

describe('sqliteTransport message fidelity', () => {
  it('round-trips a 1 MB body and unicode or binary-looking header values', async () => {
    const { transport, consumeOptions } = setup();
    const { seen, handler } = recorder((delivery) => delivery.ack());
    await transport.consume(consumeOptions(), handler);
    const body = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) % 256);
    const headers = {
      'ce-id': 'm-1',
      'ce-subject': 'Zürich — 東京 🚚',
      'x-nul': 'a\u0000b',
      'x-lone-surrogate': 'x\ud800y',
      'x-control': '\u0001\u001f\u007f\t\n',
      'x-latin1': String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i)),
      'x-long': 'é'.repeat(100_000),
    };
    await transport.publish('orders', [message('m-1', { body, headers, key: 'ключ/🔑' })]);
    await until(() => seen.length === 1, 'the delivery');
    const received = seen[0]?.message;
    expect(received?.headers).toEqual(headers);
    expect(received?.key).toBe('ключ/🔑');
    expect(received?.body.byteLength).toBe(body.byteLength);
    expect(Buffer.from(received?.body ?? []).equals(Buffer.from(body))).toBe(true);
  });

  it('delivers malformed rows as messages and keeps the loop alive', async () => {
    const { transport, consumeOptions, clock } = setup();
    const { seen, handler } = recorder((delivery) => delivery.ack());
    await transport.consume(consumeOptions(), handler);
    const db = transport.database;
    const now = clock.now();
    const insertMessage = db.prepare(
      'INSERT INTO tidings_messages (seq, id, channel, topic, key, published_at, headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertDelivery = db.prepare(
      "INSERT INTO tidings_deliveries (seq, group_name, channel, topic, key, available_at) VALUES (?, 'billing', 'orders', 'OrderPlaced', ?, ?)",
    );
    insertMessage.run(101, 'bad-json', 'orders', 'OrderPlaced', null, now, '{not json', 'plain text body');
    insertMessage.run(102, 42, 'orders', 'OrderPlaced', 7, now, '["an", "array"]', 12);
    insertMessage.run(
      103,
      'mixed',
      'orders',
      'OrderPlaced',
      null,
      now,
      '{"ok":"yes","n":1,"o":{}}',
      Buffer.from([0xff]),
    );
    for (const seq of [100, 101, 102, 103]) insertDelivery.run(seq, null, now); // 100 has no message row
    await transport.publish('orders', [message('good')]);
    await until(() => seen.length === 5, 'all five deliveries');
    const byId = new Map(seen.map((d) => [d.message.id, d.message]));
    expect(byId.get('bad-json')).toMatchObject({ headers: {}, topic: 'OrderPlaced' });
    expect(text(byId.get('bad-json')?.body ?? new Uint8Array())).toBe('plain text body');
    // Numbers bound from JS are REALs; the TEXT columns keep them as '42.0'.
    expect(byId.get('42.0')).toMatchObject({ headers: {}, key: '7.0' });
    expect(text(byId.get('42.0')?.body ?? new Uint8Array())).toBe('12');
    expect(byId.get('mixed')?.headers).toEqual({ ok: 'yes' });
    expect(byId.get('')).toMatchObject({ topic: 'OrderPlaced', headers: {}, body: new Uint8Array() });
    expect(byId.has('good')).toBe(true);
  });
});
