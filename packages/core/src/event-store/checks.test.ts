import { describe, expect, it } from 'vitest';
import {
  checkAppend,
  formatSequencePosition,
  isVersionConflict,
  parseSequencePosition,
  resolveReadStream,
  retriedAppend,
} from './checks.ts';

describe('positions', () => {
  it('sort as strings the way their numbers sort', () => {
    const numbers = [0, 1, 9, 10, 99, 100, 12_345, Number.MAX_SAFE_INTEGER];
    const positions = numbers.map(formatSequencePosition);
    expect([...positions].sort()).toEqual(positions);
    expect(positions.map((p) => parseSequencePosition('t', p))).toEqual(numbers);
    expect(parseSequencePosition('t', undefined)).toBe(0);
  });

  it('refuse what a store did not return', () => {
    for (const bad of ['12', '-000000000000001', 'abcdefghijklmnop', 42]) {
      expect(() => parseSequencePosition('readAll', bad as never)).toThrow(
        /readAll: after must be a position/,
      );
    }
  });
});

describe('expected versions', () => {
  it('conflict exactly when the stream is elsewhere', () => {
    expect([0, 3].map((actual) => isVersionConflict('any', actual))).toEqual([false, false]);
    expect([0, 3].map((actual) => isVersionConflict('exists', actual))).toEqual([true, false]);
    expect([0, 3].map((actual) => isVersionConflict('no-stream', actual))).toEqual([false, true]);
    expect([0, 3, 4].map((actual) => isVersionConflict(3, actual))).toEqual([true, false, true]);
  });

  it('list every problem of an append at once', () => {
    expect(() => checkAppend('', 'nope', { expectedVersion: -1 })).toThrow(
      /3 problems.*stream.*expectedVersion.*events/,
    );
  });
});

describe('retriedAppend', () => {
  const at = (streamVersion: number) => ({
    streamVersion,
    position: formatSequencePosition(streamVersion + 100),
  });

  it('is a fresh append when no id is stored', () => {
    expect(retriedAppend(2, [undefined, undefined])).toBeUndefined();
  });

  it('returns the original result for the same ids at the expected place', () => {
    expect(retriedAppend(2, [at(3), at(4)])).toEqual({
      streamVersion: 4,
      position: formatSequencePosition(104),
    });
    expect(retriedAppend('no-stream', [at(1)])).toEqual(at(1));
    expect(retriedAppend('any', [at(7), at(8)])).toEqual(at(8));
  });

  it('is a conflict for partial, reordered or misplaced ids', () => {
    expect(retriedAppend('any', [at(3), undefined])).toBe('conflict');
    expect(retriedAppend('any', [undefined, at(3)])).toBe('conflict');
    expect(retriedAppend('any', [at(4), at(3)])).toBe('conflict');
    expect(retriedAppend(5, [at(3), at(4)])).toBe('conflict');
    expect(retriedAppend('no-stream', [at(2)])).toBe('conflict');
  });
});

describe('resolveReadStream', () => {
  it('fills in defaults and reads until as a version or a time', () => {
    expect(resolveReadStream('s', undefined)).toEqual({
      direction: 'forward',
      from: undefined,
      limit: Number.POSITIVE_INFINITY,
      untilVersion: Number.POSITIVE_INFINITY,
      untilTime: Number.POSITIVE_INFINITY,
    });
    expect(resolveReadStream('s', { until: { time: '2026-01-01T00:00:00Z' } }).untilTime).toBe(
      Date.parse('2026-01-01T00:00:00Z'),
    );
    expect(resolveReadStream('s', { until: { version: 4 }, direction: 'backward' })).toMatchObject({
      untilVersion: 4,
      direction: 'backward',
    });
  });

  it('names the stream and every problem', () => {
    expect(() =>
      resolveReadStream('orders-1', { from: -1, limit: 1.5, until: { when: 1 } } as never),
    ).toThrow(/readStream\("orders-1"\): 3 problems.*from.*limit.*until/);
  });
});
