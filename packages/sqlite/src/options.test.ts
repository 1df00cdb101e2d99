import { isTidingsError, systemClock } from '@tidings/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { checkConsumeOptions, resolveTransportOptions, SQLITE_DEFAULTS } from './options.ts';
import type { SqliteTransportOptions } from './options.ts';

const problemsIn = (work: () => unknown): string[] => {
  try {
    work();
  } catch (error) {
    if (isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')) return error.details?.problems as string[];
    throw error;
  }
  return [];
};
const problemsOf = (options: unknown): string[] =>
  problemsIn(() => resolveTransportOptions(options as SqliteTransportOptions));

describe('sqliteTransport options', () => {
  it('fills in the production defaults for a file it opens', () => {
    const onError = (): void => undefined;
    expect(resolveTransportOptions({ file: 'app.db', onError })).toEqual({
      pollIntervalMs: 25,
      clock: systemClock,
      synchronous: 'NORMAL',
      busyTimeoutMs: 5000,
      retentionMs: SQLITE_DEFAULTS.retentionMs,
      onError,
    });
  });

  it("leaves a borrowed database's settings alone unless asked", () => {
    const database = new Database(':memory:');
    expect(resolveTransportOptions({ database })).toMatchObject({
      synchronous: undefined,
      busyTimeoutMs: undefined,
    });
    expect(resolveTransportOptions({ database, synchronous: 'FULL', busyTimeoutMs: 10 })).toMatchObject({
      synchronous: 'FULL',
      busyTimeoutMs: 10,
    });
    database.close();
  });

  it('lists every problem at once', () => {
    expect(
      problemsOf({
        file: 'a.db',
        database: {},
        pollIntervalMs: 0,
        busyTimeoutMs: 1.5,
        retentionMs: -1,
        synchronous: 'OFF',
        clock: { now: 1 },
        onError: 'log',
        pollInterval: 10,
      }),
    ).toEqual([
      'unknown option "pollInterval"; did you mean "pollIntervalMs"?',
      'pass either file or database, not both',
      'pollIntervalMs must be a finite number > 0 (got 0)',
      'busyTimeoutMs must be an integer >= 0 (got 1.5)',
      'retentionMs must be a finite number >= 0 (got -1)',
      "synchronous must be 'NORMAL' or 'FULL' (got \"OFF\")",
      'clock must have now() and sleep(ms, signal) (got an object)',
      'onError must be a function (got "log")',
    ]);
  });

  it('asks for a file or a database, and an open one', () => {
    expect(problemsOf({})).toEqual([
      "file or database is required; pass { file: 'app.db' } (or ':memory:' in tests)",
    ]);
    expect(problemsOf({ file: '' })).toEqual(['file must be a non-empty path (got "")']);
    expect(problemsOf({ database: { prepare: 1 } })).toEqual([
      'database must be a better-sqlite3 Database (got an object)',
    ]);
    const closed = new Database(':memory:');
    closed.close();
    expect(problemsOf({ database: closed })).toEqual([
      'database is closed; pass an open better-sqlite3 Database',
    ]);
    expect(problemsOf(null)).toEqual(['options must be an object (got null)']);
  });

  it('checks what a consumer asks for, naming the transport', () => {
    const consume = { channel: 'c', group: '', topics: ['T'], ordered: false, leaseMs: 0 };
    expect(() => checkConsumeOptions(consume as never, undefined)).toThrow(
      /^sqliteTransport\.consume: 4 problems/,
    );
    expect(problemsIn(() => checkConsumeOptions(consume as never, undefined))).toEqual([
      'handler must be a function (got undefined)',
      'group must be a non-empty string (got "")',
      'concurrency is required (an integer >= 1)',
      'leaseMs must be a finite number > 0 (got 0)',
    ]);
  });
});
