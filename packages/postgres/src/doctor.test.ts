import { describe, expect, it } from 'vitest';
import { longTransactionFindings, settingFindings } from './doctor.ts';

const levels = (settings: Record<string, string>): Record<string, string> =>
  Object.fromEntries(settingFindings(new Map(Object.entries(settings))).map((f) => [f.check, f.level]));

const sound = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  idle_in_transaction_session_timeout: '300000',
  autovacuum: 'on',
};

describe('postgres doctor findings', () => {
  it('finds sound settings ok', () => {
    expect(Object.values(levels(sound))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('fails fsync off and synchronous_commit off, and warns about the rest', () => {
    expect(
      levels({
        fsync: 'off',
        synchronous_commit: 'off',
        full_page_writes: 'off',
        idle_in_transaction_session_timeout: '0',
        autovacuum: 'off',
      }),
    ).toEqual({
      'postgres.fsync': 'fail',
      'postgres.synchronous_commit': 'fail',
      'postgres.full_page_writes': 'warn',
      'postgres.idle_in_transaction_session_timeout': 'warn',
      'postgres.autovacuum': 'warn',
    });
  });

  it('accepts every synchronous_commit that waits for the local disk', () => {
    for (const value of ['on', 'local', 'remote_write', 'remote_apply']) {
      expect(levels({ ...sound, synchronous_commit: value })['postgres.synchronous_commit']).toBe('ok');
    }
  });

  it('names each long transaction with its pid, age, state and query, and how to end it', () => {
    const [finding] = longTransactionFindings(
      [
        {
          pid: 4242,
          state: 'idle in transaction',
          ageMs: 95_400,
          user: 'app',
          application: 'shop',
          query: 'UPDATE\n  stock SET n = n - 1',
        },
      ],
      60_000,
    );
    expect(finding).toMatchObject({
      check: 'postgres.long_transactions',
      level: 'warn',
      message: expect.stringContaining(
        'pid 4242 (user app, shop) has had a transaction open for 95 s, now idle in transaction: UPDATE stock SET n = n - 1.',
      ),
      fix: expect.stringContaining('pg_terminate_backend(4242)'),
    });
    expect(longTransactionFindings([], 60_000)).toEqual([
      {
        check: 'postgres.long_transactions',
        level: 'ok',
        message: 'no transaction of this database has been open longer than 60 s',
      },
    ]);
  });
});
