import { fc, test as property } from '@fast-check/vitest';
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, test } from 'vitest';
import { fromBinaryCloudEvent, fromCloudEvent, toBinaryCloudEvent, toCloudEvent } from './cloudevents.ts';
import { createEvent, type Event } from './envelope.ts';
import { isTidingsError } from './errors.ts';

const sample = (): Event =>
  createEvent(
    'OrderPlaced',
    2,
    { orderId: 'o-1', total: 42.5, lines: [{ sku: 'ä-1', qty: 2 }] },
    {
      source: '/shop/orders',
      subject: 'o-1 ünïcode',
      correlationId: 'corr-1',
      causationId: 'cause-1',
      extensions: {
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: 'a=1',
      },
    },
  );

function malformedMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isTidingsError(error, 'TIDINGS_MALFORMED')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected TIDINGS_MALFORMED');
}

describe('CloudEvents mapping', () => {
  test('structured mode round-trips every attribute', () => {
    const event = sample();
    expect(fromCloudEvent(JSON.stringify(toCloudEvent(event)))).toEqual(event);
  });

  test('binary mode round-trips every attribute, unicode included', () => {
    const event = sample();
    const { headers, body } = toBinaryCloudEvent(event);
    expect(headers['ce-subject']).toBe(encodeURIComponent('o-1 ünïcode'));
    expect(fromBinaryCloudEvent(headers, body)).toEqual(event);
    expect(fromCloudEvent({ headers, body })).toEqual(event);
  });

  test('the official SDK reads our structured events with every attribute intact', () => {
    const event = sample();
    const received = HTTP.toEvent({
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(toCloudEvent(event)),
    }) as CloudEvent<unknown>;
    expect(received.id).toBe(event.id);
    expect(received.type).toBe('OrderPlaced');
    expect(received.source).toBe('/shop/orders');
    expect(received.subject).toBe('o-1 ünïcode');
    expect(new Date(received.time as string).toISOString()).toBe(event.time);
    expect(received.data).toEqual(event.data);
    expect(received.dataversion).toBe(2);
    expect(received.correlationid).toBe('corr-1');
    expect(received.causationid).toBe('cause-1');
    expect(received.traceparent).toBe(event.extensions?.traceparent);
    expect(received.tracestate).toBe('a=1');
  });

  test('the official SDK reads our binary-mode events', () => {
    const event = sample();
    const { headers, body } = toBinaryCloudEvent(event);
    const received = HTTP.toEvent({ headers, body }) as CloudEvent<unknown>;
    expect(received.id).toBe(event.id);
    expect(received.type).toBe('OrderPlaced');
    expect(received.data).toEqual(event.data);
    expect(received.correlationid).toBe('corr-1');
    expect(String(received.dataversion)).toBe('2');
    expect(received.traceparent).toBe(event.extensions?.traceparent);
  });

  test('events made by the official SDK decode in both modes', () => {
    const sdkEvent = new CloudEvent({
      type: 'OrderPlaced',
      source: '/elsewhere',
      subject: 'o-9',
      time: '2026-01-02T03:04:05.678Z',
      datacontenttype: 'application/json',
      data: { orderId: 'o-9', total: 1 },
      dataversion: 1,
      correlationid: 'c-9',
      causationid: 'x-9',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    for (const message of [HTTP.structured(sdkEvent), HTTP.binary(sdkEvent)]) {
      const event = fromCloudEvent({ headers: message.headers, body: message.body });
      expect(event).toMatchObject({
        id: sdkEvent.id,
        type: 'OrderPlaced',
        version: 1,
        source: '/elsewhere',
        subject: 'o-9',
        time: '2026-01-02T03:04:05.678Z',
        correlationId: 'c-9',
        causationId: 'x-9',
        data: { orderId: 'o-9', total: 1 },
        extensions: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      });
    }
  });

  test('structured mode arriving as HTTP with application/cloudevents+json decodes', () => {
    const event = sample();
    const body = JSON.stringify(toCloudEvent(event));
    expect(fromCloudEvent(body)).toEqual(event);
  });

  test('an event without correlation or version starts its own chain at version 1', () => {
    const event = fromCloudEvent({
      specversion: '1.0',
      id: 'e-1',
      type: 'OrderPlaced',
      source: '/x',
      time: '2026-01-01T00:00:00Z',
      data: {},
    });
    expect(event.correlationId).toBe('e-1');
    expect(event.version).toBe(1);
    expect(Object.isFrozen(event)).toBe(true);
  });

  test('decoded events are deeply frozen', () => {
    const event = fromCloudEvent(JSON.stringify(toCloudEvent(sample())));
    expect(Object.isFrozen(event.data)).toBe(true);
    expect(() => {
      (event.data as { orderId: string }).orderId = 'changed';
    }).toThrow(TypeError);
  });
});

describe('bad input', () => {
  const valid = (): Record<string, unknown> => toCloudEvent(sample());

  test('malformed JSON names the problem', () => {
    expect(malformedMessage(() => fromCloudEvent('{"specversion": "1.0",'))).toMatch(/not valid JSON/);
  });

  test.each(['id', 'type', 'source', 'time'])('a missing %s is named', (attribute) => {
    const input = valid();
    delete input[attribute];
    expect(malformedMessage(() => fromCloudEvent(input))).toContain(attribute);
  });

  test('a wrong specversion is named', () => {
    expect(malformedMessage(() => fromCloudEvent({ ...valid(), specversion: '0.3' }))).toContain(
      'specversion',
    );
  });

  test('a wrong attribute type is named', () => {
    expect(malformedMessage(() => fromCloudEvent({ ...valid(), id: 42 }))).toContain(
      'id must be a non-empty string',
    );
    expect(malformedMessage(() => fromCloudEvent({ ...valid(), dataversion: 'two' }))).toContain('version');
    expect(malformedMessage(() => fromCloudEvent({ ...valid(), time: 'yesterday' }))).toContain('time');
  });

  test('__proto__ keys in data are refused with their path', () => {
    const json = JSON.stringify(valid()).replace('"orderId"', '"__proto__":{"admin":true},"orderId"');
    expect(malformedMessage(() => fromCloudEvent(json))).toContain('data.__proto__');
    const nested = JSON.stringify(valid()).replace('"sku"', '"__proto__":1,"sku"');
    expect(malformedMessage(() => fromCloudEvent(nested))).toContain('data.lines[0].__proto__');
  });

  test('non-JSON content is refused', () => {
    expect(malformedMessage(() => fromCloudEvent({ ...valid(), datacontenttype: 'text/plain' }))).toContain(
      'not JSON',
    );
    expect(
      malformedMessage(() =>
        fromBinaryCloudEvent({ 'ce-specversion': '1.0', 'content-type': 'application/xml' }, '<a/>'),
      ),
    ).toContain('not JSON');
  });

  test('things that are not events are refused', () => {
    for (const input of [null, 42, [], { hello: 'world' }]) {
      expect(() => fromCloudEvent(input)).toThrowError(/Not a valid event/);
    }
  });

  test('absurdly deep data is refused instead of exhausting the stack', () => {
    let data: unknown = 1;
    for (let i = 0; i < 100; i += 1) data = { d: data };
    expect(malformedMessage(() => fromCloudEvent({ ...valid(), data }))).toContain('nested more than');
  });
});

const attributeText = fc.string({ minLength: 1, maxLength: 30 });
const extensionName = fc
  .stringMatching(/^[a-z0-9]{1,20}$/)
  .filter(
    (name) =>
      ![
        'specversion',
        'id',
        'type',
        'source',
        'subject',
        'time',
        'data',
        'dataversion',
        'correlationid',
        'causationid',
        'datacontenttype',
      ].includes(name),
  );
const arbitraryEvent = fc
  .record({
    type: fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,20}$/),
    version: fc.integer({ min: 1, max: 1000 }),
    source: attributeText,
    subject: fc.option(attributeText, { nil: undefined }),
    correlationId: attributeText,
    causationId: fc.option(attributeText, { nil: undefined }),
    time: fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }),
    data: fc
      .jsonValue()
      .map((value) => JSON.parse(JSON.stringify(value)) as unknown)
      .filter((value) => !JSON.stringify(value).includes('"__proto__"')),
    extensions: fc.option(fc.dictionary(extensionName, attributeText, { maxKeys: 3 }), { nil: undefined }),
  })
  .map(({ type, version, data, ...init }) => createEvent(type, version, data, init));

describe('round trips (property)', () => {
  property.prop([arbitraryEvent])('structured JSON round-trips any event', (event) => {
    expect(fromCloudEvent(JSON.stringify(toCloudEvent(event)))).toEqual(event);
  });

  property.prop([arbitraryEvent])('binary mode round-trips any event', (event) => {
    const { headers, body } = toBinaryCloudEvent(event);
    expect(fromBinaryCloudEvent(headers, body)).toEqual(event);
  });
});

describe('binary mode headers', () => {
  test('inherited header properties are ignored, own ones in any case are read', () => {
    const { headers, body } = toBinaryCloudEvent(sample());
    const inherited = Object.create({ 'ce-tracestate': 'inherited', 'ce-extra': 'inherited' }) as Record<
      string,
      string
    >;
    for (const [name, value] of Object.entries(headers)) inherited[name.toUpperCase()] = value;
    const event = fromBinaryCloudEvent(inherited, body);
    expect(event).toEqual(fromBinaryCloudEvent(headers, body));
    expect(event.extensions).not.toHaveProperty('extra');
  });

  test('fetch Headers are read like a plain record', () => {
    const { headers, body } = toBinaryCloudEvent(sample());
    expect(fromBinaryCloudEvent(new Headers(headers), body)).toEqual(fromBinaryCloudEvent(headers, body));
  });
});
