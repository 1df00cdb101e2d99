import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  checkConsumeOptions,
  checkOptions,
  checkOptionsObject,
  clockProblem,
  consoleErrorReporter,
  consumeOptionsProblems,
  describeValue,
  functionProblem,
  isRecord,
  numberProblem,
  stringProblem,
  unknownKeyProblems,
} from './option-checks.ts';
import type { ConsumeOptions } from './transport.ts';

const valid = {
  channel: 'orders',
  group: 'billing',
  topics: ['OrderPlaced'],
  concurrency: 2,
  ordered: false,
  leaseMs: 30_000,
};
const handler = (): Promise<void> => Promise.resolve();

describe('describeValue', () => {
  it('quotes strings, prints numbers and names everything else by kind', () => {
    expect(
      ['x', 3, false, null, undefined, [], [1], {}, () => 1, Symbol('s'), 1n].map(describeValue),
    ).toEqual([
      '"x"',
      '3',
      'false',
      'null',
      'undefined',
      'an empty array',
      'an array',
      'an object',
      'a function',
      'a symbol',
      'a bigint',
    ]);
  });
});

describe('isRecord and checkOptionsObject', () => {
  it('takes any non-null object as a record', () => {
    expect([{}, [], null, 'x', undefined].map(isRecord)).toEqual([true, true, false, false, false]);
  });

  it('refuses options that are not an object, with the example when one is given', () => {
    expect(() => checkOptionsObject('fooTransport', null)).toThrow(
      expect.objectContaining({
        code: 'TIDINGS_INVALID_OPTIONS',
        message: 'fooTransport: options must be an object (got null)',
      }),
    );
    expect(() => checkOptionsObject('fooTransport', 'amqp://x', "{ url: 'amqp://…' }")).toThrow(
      'fooTransport: options must be an object such as { url: \'amqp://…\' } (got "amqp://x")',
    );
    expect(() => checkOptionsObject('fooTransport', {})).not.toThrow();
  });
});

describe('checkOptions', () => {
  const problemsOf = (options: unknown, known: string[]): string[] => {
    try {
      checkOptions('fooTransport', options, {
        known,
        problems: (raw) => [numberProblem('blockMs', raw.blockMs, { min: 1 }), undefined],
      });
    } catch (error) {
      return (error as { details: { problems: string[] } }).details.problems;
    }
    return [];
  };

  it('lists unknown keys, then its own problems, then clock and onError', () => {
    const known = ['blockMs', 'clock', 'onError'];
    expect(problemsOf({ blockMs: 0, clock: {}, onError: 1, blockMS: 1 }, known)).toEqual([
      'unknown option "blockMS"; did you mean "blockMs"?',
      'blockMs must be a finite number >= 1 (got 0)',
      'clock must have now() and sleep(ms, signal) (got an object)',
      'onError must be a function (got 1)',
    ]);
    expect(problemsOf({ blockMs: 5 }, known)).toEqual([]);
  });

  it('checks clock and onError only for a constructor that takes them', () => {
    expect(problemsOf({ clock: {} }, ['blockMs'])).toEqual(['unknown option "clock"']);
  });
});

describe('unknownKeyProblems', () => {
  const known = ['pollIntervalMs', 'clock', 'onError', 'url'];

  it('names every unknown key and suggests a near one', () => {
    expect(unknownKeyProblems({ pollInterval: 1, colour: 'red', onerror: 1, clock: 1 }, known)).toEqual([
      'unknown option "pollInterval"; did you mean "pollIntervalMs"?',
      'unknown option "colour"',
      'unknown option "onerror"; did you mean "onError"?',
    ]);
  });

  it('does not suggest a key that is merely short and different', () => {
    expect(unknownKeyProblems({ uri: 1, id: 1 }, known)).toEqual([
      'unknown option "uri"; did you mean "url"?',
      'unknown option "id"',
    ]);
  });

  it('prefixes nested keys with their path', () => {
    expect(unknownKeyProblems({ clok: 1 }, new Set(known), 'retry')).toEqual([
      'unknown option "retry.clok"; did you mean "retry.clock"?',
    ]);
  });
});

describe('numberProblem', () => {
  it('accepts an absent value unless it is required', () => {
    expect(numberProblem('blockMs', undefined, { min: 1, integer: true })).toBeUndefined();
    expect(numberProblem('concurrency', undefined, { min: 1, integer: true, required: true })).toBe(
      'concurrency is required (an integer >= 1)',
    );
  });

  it('says which bound and kind a value misses', () => {
    expect(numberProblem('pollIntervalMs', 0, { min: 0, exclusive: true })).toBe(
      'pollIntervalMs must be a finite number > 0 (got 0)',
    );
    expect(numberProblem('busyTimeoutMs', 1.5, { min: 0, integer: true })).toBe(
      'busyTimeoutMs must be an integer >= 0 (got 1.5)',
    );
    expect(numberProblem('retentionMs', Number.NaN, { min: 0 })).toBe(
      'retentionMs must be a finite number >= 0 (got NaN)',
    );
    expect(numberProblem('ratio', '2')).toBe('ratio must be a finite number (got "2")');
    expect(numberProblem('retentionMs', 0, { min: 0 })).toBeUndefined();
  });

  it('gives the reason for a maximum when the value is above it', () => {
    const rule = { min: 1, max: 5, integer: true, maxReason: "JetStream's limit" };
    expect(numberProblem('replicas', 7, rule)).toBe("replicas must be at most 5, JetStream's limit (got 7)");
    expect(numberProblem('replicas', 0, rule)).toBe('replicas must be an integer >= 1 and <= 5 (got 0)');
    expect(numberProblem('replicas', 5, rule)).toBeUndefined();
    expect(numberProblem('ratio', 2, { max: 1 })).toBe('ratio must be at most 1 (got 2)');
  });
});

describe('stringProblem, functionProblem and clockProblem', () => {
  it('checks strings for presence and length', () => {
    expect(stringProblem('name', undefined)).toBeUndefined();
    expect(stringProblem('name', '')).toBe('name must be a non-empty string (got "")');
    expect(stringProblem('group', undefined, { required: true })).toBe(
      'group must be a non-empty string (got undefined)',
    );
    expect(stringProblem('group', 'g'.repeat(101), { maxLength: 100 })).toMatch(
      /^group must be a string of 1-100 characters \(got "g+"\)$/,
    );
  });

  it('checks callbacks', () => {
    expect(functionProblem('onError', undefined)).toBeUndefined();
    expect(functionProblem('onError', 'log')).toBe('onError must be a function (got "log")');
    expect(functionProblem('handler', undefined, { required: true })).toBe(
      'handler must be a function (got undefined)',
    );
  });

  it('wants a clock with now() and sleep()', () => {
    expect(clockProblem(undefined)).toBeUndefined();
    expect(clockProblem({ now: () => 0, sleep: () => Promise.resolve() })).toBeUndefined();
    expect(clockProblem({ now: () => 0 })).toBe(
      'clock must have now() and sleep(ms, signal) (got an object)',
    );
    expect(clockProblem('system')).toBe('clock must have now() and sleep(ms, signal) (got "system")');
  });
});

describe('consumeOptionsProblems', () => {
  it('accepts what the bus asks for', () => {
    expect(consumeOptionsProblems(valid, handler)).toEqual([]);
  });

  it('lists every common problem at once', () => {
    expect(
      consumeOptionsProblems(
        { channel: '', group: 7, topics: ['A', ''], concurrency: 0, leaseMs: 0, ordered: 'yes' },
        undefined,
      ),
    ).toEqual([
      'handler must be a function (got undefined)',
      'channel must be a non-empty string (got "")',
      'group must be a non-empty string (got 7)',
      'topics[1] must be a non-empty string (got "")',
      'concurrency must be an integer >= 1 (got 0)',
      'leaseMs must be a finite number > 0 (got 0)',
      'ordered must be a boolean (got "yes")',
    ]);
    expect(consumeOptionsProblems({}, handler)).toEqual([
      'channel must be a non-empty string (got undefined)',
      'group must be a non-empty string (got undefined)',
      'topics must be a non-empty array of topic names (got undefined)',
      'concurrency is required (an integer >= 1)',
      'leaseMs is required (a finite number > 0)',
      'ordered must be a boolean (got undefined)',
    ]);
    expect(consumeOptionsProblems(null, handler)).toEqual(['options must be an object (got null)']);
  });

  it("applies a transport's own rules, its extra problems last", () => {
    const rules = {
      maxNameLength: 3,
      concurrency: { min: 1, max: 10, integer: true, maxReason: 'the broker limit' },
      leaseMs: { min: 1, integer: true },
      orderedNotSupportedBy: 'the foo transport',
      extra: (options: Record<string, unknown>) =>
        options.group === 'bad' ? ['group "bad" is reserved'] : [],
    };
    expect(
      consumeOptionsProblems(
        { ...valid, channel: 'c', group: 'bad', concurrency: 11, leaseMs: 0.5, ordered: true },
        handler,
        rules,
      ),
    ).toEqual([
      'concurrency must be at most 10, the broker limit (got 11)',
      'leaseMs must be an integer >= 1 (got 0.5)',
      'ordered delivery is not supported by the foo transport (capabilities.ordering is none)',
      'group "bad" is reserved',
    ]);
    expect(consumeOptionsProblems({ ...valid, channel: 'long', group: 'g' }, handler, rules)).toEqual([
      'channel must be a string of 1-3 characters (got "long")',
    ]);
  });

  it('throws one invalid-options error from checkConsumeOptions', () => {
    expect(() => checkConsumeOptions('fooTransport.consume', valid, handler)).not.toThrow();
    const bad = { ...valid, topics: [] } as unknown as ConsumeOptions;
    expect(() => checkConsumeOptions('fooTransport.consume', bad, handler)).toThrow(
      expect.objectContaining({
        code: 'TIDINGS_INVALID_OPTIONS',
        message: 'fooTransport.consume: topics must be a non-empty array of topic names (got an empty array)',
      }),
    );
  });
});

describe('consoleErrorReporter', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints the package, where, group, channel and message id before the error', () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const report = consoleErrorReporter('@tidings/foo');
    const error = new Error('boom');
    report(error, { where: 'handler', channel: 'orders', group: 'billing', messageId: 'm-1' });
    report(error, { where: 'connection' });
    expect(printed.mock.calls).toEqual([
      ['[@tidings/foo] handler billing orders m-1:', error],
      ['[@tidings/foo] connection:', error],
    ]);
  });
});
