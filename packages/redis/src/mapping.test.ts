import { describe, expect, it } from 'vitest';
import { fieldsToMessage, frameToMessage, messageToFields, messageToFrame } from './mapping.ts';

describe('stream entry mapping', () => {
  it('keeps every byte of the body and every header through the latin1 round trip', () => {
    const body = new Uint8Array(256).map((_, i) => i);
    const message = { id: 'm-1', topic: 'T', key: 'k', headers: { 'ce-x': 'ünïcødé ✓' }, body };
    // What node-redis does to a string argument and its reply: UTF-8 out, UTF-8 back.
    const wire = messageToFields(message).map((field) => Buffer.from(field, 'utf8').toString('utf8'));
    const back = fieldsToMessage(wire, 'fallback');
    expect(back).toEqual({ ...message, body: new Uint8Array(body) });
  });

  it('keeps only the string headers of a hand-made entry', () => {
    const message = fieldsToMessage(['id', 'm-1', 'headers', '{"a":"1","b":2,"c":null}'], 'T');
    expect(message.headers).toEqual({ a: '1' });
  });

  it('reads a hand-made entry into a message the bus can reject', () => {
    expect(fieldsToMessage(['headers', 'not json'], 'T')).toEqual({
      id: '',
      topic: 'T',
      headers: {},
      body: new Uint8Array(0),
    });
  });
});

describe('pub/sub frame mapping', () => {
  it('keeps every byte of the body, the key and every header', () => {
    const body = new Uint8Array(256).map((_, i) => i);
    const message = {
      id: 'm-1',
      topic: 'T',
      key: 'k\nwith newline',
      headers: { 'ce-x': 'ünï\ncødé ✓' },
      body,
    };
    expect(frameToMessage(messageToFrame(message), 'fallback')).toEqual(message);
  });

  it('reads a payload someone else published into a message the bus can reject', () => {
    expect(frameToMessage(Buffer.from('hello'), 'T')).toEqual({
      id: '',
      topic: 'T',
      headers: {},
      body: new Uint8Array(Buffer.from('hello')),
    });
  });
});
