import { describe, expect, test } from 'vitest';
import { createEvent } from './envelope.ts';
import { isTidingsError } from './errors.ts';
import { compileFilter, type EventFilter, matchesPattern } from './filter.ts';

const order = createEvent(
  'OrderPlaced',
  1,
  { total: 120, customer: { tier: 'gold', country: 'FR' }, tags: ['x'], note: null },
  { subject: 'eu-42', source: '/shop/orders' },
);

const matches = (filter: EventFilter): boolean => compileFilter(filter)(order);

describe('content filters', () => {
  test('exact values on attributes and data paths', () => {
    expect(matches({ type: 'OrderPlaced', data: { 'customer.tier': 'gold' } })).toBe(true);
    expect(matches({ data: { 'customer.tier': 'silver' } })).toBe(false);
    expect(matches({ data: { note: null } })).toBe(true);
  });

  test('a list matches when any condition does', () => {
    expect(matches({ data: { 'customer.tier': ['silver', 'gold'] } })).toBe(true);
    expect(matches({ source: ['/a', '/b'] })).toBe(false);
  });

  test('prefix', () => {
    expect(matches({ subject: { prefix: 'eu-' } })).toBe(true);
    expect(matches({ subject: { prefix: 'us-' } })).toBe(false);
  });

  test('anything-but', () => {
    expect(matches({ data: { 'customer.country': { anythingBut: ['DE', 'AT'] } } })).toBe(true);
    expect(matches({ data: { 'customer.country': { anythingBut: 'FR' } } })).toBe(false);
    expect(matches({ data: { missing: { anythingBut: 'FR' } } })).toBe(false);
  });

  test('numeric ranges', () => {
    expect(matches({ data: { total: { numeric: { gte: 100, lt: 200 } } } })).toBe(true);
    expect(matches({ data: { total: { numeric: { gt: 120 } } } })).toBe(false);
    expect(matches({ data: { 'customer.tier': { numeric: { gt: 0 } } } })).toBe(false);
  });

  test('exists', () => {
    expect(matches({ data: { 'customer.tier': { exists: true }, coupon: { exists: false } } })).toBe(true);
    expect(matches({ subject: { exists: false } })).toBe(false);
  });

  test('every field must match', () => {
    expect(matches({ subject: { prefix: 'eu-' }, data: { total: { numeric: { lt: 100 } } } })).toBe(false);
  });

  test('paths do not walk into prototypes', () => {
    expect(matches({ data: { 'customer.constructor': { exists: true } } })).toBe(false);
  });

  test('a bad filter lists every problem', () => {
    try {
      compileFilter({
        data: { total: { numeric: { above: 3 } } as never, x: { regex: 'a' } as never },
        color: 'red',
      } as never);
      throw new Error('expected a failure');
    } catch (error) {
      expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('numeric.above');
      expect(message).toContain('unknown condition');
      expect(message).toContain('filter.color is not filterable');
    }
  });

  test('filters are plain data that survive JSON', () => {
    const filter: EventFilter = { subject: { prefix: 'eu-' }, data: { total: { numeric: { gte: 100 } } } };
    expect(compileFilter(JSON.parse(JSON.stringify(filter)) as EventFilter)(order)).toBe(true);
  });
});

describe('type patterns', () => {
  test('wildcards match runs of characters', () => {
    expect(matchesPattern('Order*', 'OrderPlaced')).toBe(true);
    expect(matchesPattern('*Failed', 'PaymentFailed')).toBe(true);
    expect(matchesPattern('billing.*', 'billing.InvoiceSent')).toBe(true);
    expect(matchesPattern('billing.*', 'billingXInvoiceSent')).toBe(false);
    expect(matchesPattern('OrderPlaced', 'OrderPlaced')).toBe(true);
    expect(matchesPattern('Order', 'OrderPlaced')).toBe(false);
  });
});
