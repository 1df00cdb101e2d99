import { isTidingsError, systemClock } from '@tidings/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { checkConsumeOptions, POSTGRES_DEFAULTS, resolveTransportOptions } from './options.ts';
import type { PostgresTransportOptions } from './options.ts';

const problemsOf = (work: () => unknown): string[] => {
  try {
    work();
  } catch (error) {
    if (isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')) return error.details?.problems as string[];
    throw error;
  }
  return [];
};
const resolveProblems = (options: unknown): string[] =>
  problemsOf(() => resolveTransportOptions(options as PostgresTransportOptions));

describe('postgresTransport options', () => {
  it('fills in the defaults', () => {
    const onError = (): void => undefined;
    expect(resolveTransportOptions({ connectionString: 'postgres://localhost/app', onError })).toEqual({
      schema: 'tidings',
      pollIntervalMs: POSTGRES_DEFAULTS.pollIntervalMs,
      clock: systemClock,
      retentionMs: POSTGRES_DEFAULTS.retentionMs,
      connectTimeoutMs: POSTGRES_DEFAULTS.connectTimeoutMs,
      queryTimeoutMs: POSTGRES_DEFAULTS.queryTimeoutMs,
      onError,
    });
  });

  it('accepts a pool the application made, without connecting', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://localhost/app' });
    expect(resolveProblems({ pool, schema: 'shop_events' })).toEqual([]);
    expect(resolveProblems({ pool, connectTimeoutMs: 1000, queryTimeoutMs: 1000 })).toEqual([
      'connectTimeoutMs applies to a pool Tidings opens; set connectionTimeoutMillis on your pool instead',
      'queryTimeoutMs applies to a pool Tidings opens; set query_timeout on your pool instead',
    ]);
    await pool.end();
  });

  it('lists every problem at once', () => {
    expect(
      resolveProblems({
        connectionString: '',
        schema: 'drop table; --',
        pollIntervalMs: 0,
        retentionMs: -1,
        connectTimeoutMs: 0,
        queryTimeoutMs: 1.5,
        clock: {},
        onError: 'log',
        extra: true,
      }),
    ).toEqual([
      'unknown option "extra"',
      'connectionString must be a non-empty string (got "")',
      'schema must be a plain identifier of at most 41 characters (got "drop table; --")',
      'pollIntervalMs must be a finite number > 0 (got 0)',
      'retentionMs must be a finite number >= 0 (got -1)',
      'connectTimeoutMs must be an integer > 0 (got 0)',
      'queryTimeoutMs must be an integer > 0 (got 1.5)',
      'clock must have now() and sleep(ms, signal) (got an object)',
      'onError must be a function (got "log")',
    ]);
    expect(resolveProblems({})).toEqual([
      "connectionString or pool is required; pass { connectionString: 'postgres://…' }",
    ]);
    expect(resolveProblems({ connectionString: 'x', pool: {} })).toEqual([
      'pass either connectionString or pool, not both',
    ]);
  });

  it('checks what a consumer asks for', () => {
    expect(
      problemsOf(() =>
        checkConsumeOptions(
          { channel: '', group: 'g', topics: [], concurrency: 0, ordered: false, leaseMs: 10 },
          () => Promise.resolve(),
        ),
      ),
    ).toEqual([
      'channel must be a non-empty string (got "")',
      'topics must be a non-empty array of topic names (got an empty array)',
      'concurrency must be an integer >= 1 (got 0)',
    ]);
  });
});
