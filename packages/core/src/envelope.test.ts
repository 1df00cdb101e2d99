import { describe, expect, it } from 'vitest';
import { type Event, envelopeIsValid, envelopeProblems } from './envelope.ts';

const valid: Partial<Record<keyof Event, unknown>> = {
  id: 'e-1',
  type: 'OrderPlaced',
  version: 1,
  source: 'urn:test',
  time: '2026-01-31T12:00:00.000Z',
  correlationId: 'e-1',
  data: { orderId: 'o-1', lines: [{ sku: 'a' }] },
};

const deep = (levels: number): unknown => (levels === 0 ? {} : { next: deep(levels - 1) });
const withProto = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;

describe('envelopeIsValid', () => {
  it.each<[string, Partial<Record<keyof Event, unknown>>]>([
    ['a valid envelope', valid],
    [
      'a subject, causation and extensions',
      { ...valid, subject: 's', causationId: 'c', extensions: { trace: 'x' } },
    ],
    ['an empty id', { ...valid, id: '' }],
    ['a numeric type', { ...valid, type: 7 }],
    ['no source', { ...valid, source: undefined }],
    ['an empty subject', { ...valid, subject: '' }],
    ['a version of 0', { ...valid, version: 0 }],
    ['a fractional version', { ...valid, version: 1.5 }],
    ['a version as text', { ...valid, version: '1' }],
    ['a time that is not RFC 3339', { ...valid, time: '31/01/2026' }],
    ['a time out of range', { ...valid, time: '2026-13-45T12:00:00Z' }],
    ['a time as a number', { ...valid, time: 0 }],
    ['__proto__ in data', { ...valid, data: withProto }],
    ['__proto__ deep in an array', { ...valid, data: [{ ok: [withProto] }] }],
    ['data nested too deep', { ...valid, data: deep(70) }],
    ['data nested just deep enough', { ...valid, data: deep(60) }],
    ['extensions that are not an object', { ...valid, extensions: 'x' }],
    ['an extension with a bad name', { ...valid, extensions: { 'Bad-Name': 'x' } }],
    ['an extension shadowing an attribute', { ...valid, extensions: { subject: 'x' } }],
    ['an extension that is not a string', { ...valid, extensions: { trace: 1 } }],
  ])('agrees with envelopeProblems on %s', (_name, envelope) => {
    expect(envelopeIsValid(envelope)).toBe(envelopeProblems(envelope).length === 0);
  });

  it('checks a time again after another time was found valid', () => {
    expect(envelopeIsValid(valid)).toBe(true);
    expect(envelopeIsValid({ ...valid, time: '2026-01-31T25:00:00Z' })).toBe(
      envelopeProblems({ ...valid, time: '2026-01-31T25:00:00Z' }).length === 0,
    );
    expect(envelopeIsValid(valid)).toBe(true);
  });
});
