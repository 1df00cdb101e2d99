import { describe, expect, test } from 'vitest';
import { describeError, failureFingerprint } from './dead-letters.ts';

describe('failure fingerprints', () => {
  test('ids, numbers and quoted values do not split a group', () => {
    const a = failureFingerprint(
      'Error',
      'order 0190a0b1-1111-7222-8333-444455556666 declined: amount 12.50 "visa"',
      'payments',
    );
    const b = failureFingerprint(
      'Error',
      'order 0190a0b1-9999-7222-8333-444455556666 declined: amount 99 "mastercard"',
      'payments',
    );
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
  });

  test('a different error, message or handler is a different group', () => {
    const base = failureFingerprint('Error', 'card declined', 'payments');
    expect(failureFingerprint('TypeError', 'card declined', 'payments')).not.toBe(base);
    expect(failureFingerprint('Error', 'card expired', 'payments')).not.toBe(base);
    expect(failureFingerprint('Error', 'card declined', 'shipping')).not.toBe(base);
  });
});

describe('describeError', () => {
  test('keeps name, message, stack and code of errors', () => {
    const error = Object.assign(new RangeError('too big'), { code: 'E_BIG' });
    expect(describeError(error)).toMatchObject({
      name: 'RangeError',
      message: 'too big',
      code: 'E_BIG',
      stack: expect.stringContaining('too big'),
    });
  });

  test('describes values that are not errors', () => {
    expect(describeError('boom')).toEqual({
      name: 'NonError',
      message: 'A non-Error value was thrown: boom',
    });
    expect(describeError({ reason: 1 })).toEqual({
      name: 'NonError',
      message: 'A non-Error value was thrown: {"reason":1}',
    });
    expect(describeError(undefined).message).toContain('undefined');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeError(cyclic).name).toBe('NonError');
  });
});
