import { isTidingsError } from '@tidings/core';
import { describe, expect, it } from 'vitest';
import { backoffMs } from './backoff.ts';
import { asUnavailable, isConnectionError } from './errors.ts';
import { postgresTransport } from './transport.ts';

const withCode = (message: string, code: string, extra: object = {}): Error =>
  Object.assign(new Error(message), { code, ...extra });

describe('postgresTransport without a server', () => {
  it('fails a publish fast with TIDINGS_UNAVAILABLE, and still closes', async () => {
    // Port 1 on loopback: nothing listens there, the connect is refused at once.
    const transport = postgresTransport({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      onError: () => undefined,
    });
    const publishing = transport.publish('orders', [
      { id: 'm-1', topic: 'OrderPlaced', headers: {}, body: new Uint8Array([123, 125]) },
    ]);
    await expect(publishing).rejects.toSatisfy((error: unknown) =>
      isTidingsError(error, 'TIDINGS_UNAVAILABLE'),
    );
    await expect(
      transport.consume(
        {
          channel: 'orders',
          group: 'g',
          topics: ['OrderPlaced'],
          concurrency: 1,
          ordered: false,
          leaseMs: 1000,
        },
        () => Promise.resolve(),
      ),
    ).rejects.toSatisfy((error: unknown) => isTidingsError(error, 'TIDINGS_UNAVAILABLE'));
    await expect(transport.deadLetters.depth()).rejects.toSatisfy((error: unknown) =>
      isTidingsError(error, 'TIDINGS_UNAVAILABLE'),
    );
    await expect(transport.doctor()).rejects.toSatisfy((error: unknown) =>
      isTidingsError(error, 'TIDINGS_UNAVAILABLE'),
    );
    await transport.close();
  });

  it('tells connection failures from statement errors', () => {
    expect(isConnectionError(withCode('refused', 'ECONNREFUSED'))).toBe(true);
    expect(isConnectionError(withCode('admin shutdown', '57P01'))).toBe(true);
    expect(isConnectionError(withCode('the database system is starting up', '57P03'))).toBe(true);
    expect(isConnectionError(withCode('connection failure', '08006'))).toBe(true);
    expect(isConnectionError(withCode('too many clients', '53300'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(new Error('Query read timeout'))).toBe(true);
    expect(isConnectionError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(
      isConnectionError(
        new Error('Connection terminated due to connection timeout', { cause: withCode('x', 'ETIMEDOUT') }),
      ),
    ).toBe(true);
    expect(isConnectionError(withCode('syntax', '42601'))).toBe(false);
    expect(isConnectionError(withCode('unique violation', '23505'))).toBe(false);
    expect(isConnectionError(withCode('out of disk', '53100'))).toBe(false);
    expect(isConnectionError('nope')).toBe(false);
  });

  it('says whether anything can have been written', () => {
    const refused = asUnavailable(withCode('connect ECONNREFUSED', 'ECONNREFUSED'), 'publish');
    const resetWhileConnecting = asUnavailable(
      withCode('connect ECONNRESET', 'ECONNRESET', { syscall: 'connect' }),
      'publish',
    );
    const lostAfterSending = asUnavailable(new Error('Connection terminated unexpectedly'), 'publish');
    expect(isTidingsError(refused, 'TIDINGS_UNAVAILABLE') && refused.details).toEqual({ written: 'no' });
    expect(isTidingsError(resetWhileConnecting) && resetWhileConnecting.details).toEqual({ written: 'no' });
    expect(isTidingsError(lostAfterSending) && lostAfterSending.details).toEqual({ written: 'unknown' });
    const statement = withCode('syntax', '42601');
    expect(asUnavailable(statement, 'publish')).toBe(statement);
  });

  it('backs off by doubling up to a ceiling, with jitter in the upper half', () => {
    const top = (failures: number): number => backoffMs(failures, 100, 5000, () => 1);
    const bottom = (failures: number): number => backoffMs(failures, 100, 5000, () => 0);
    expect([1, 2, 3, 4].map(top)).toEqual([100, 200, 400, 800]);
    expect(bottom(1)).toBe(50);
    expect(top(10)).toBe(5000);
    expect(top(1000)).toBe(5000);
    // A poll interval longer than the ceiling becomes the ceiling.
    expect(backoffMs(3, 60_000, 5000, () => 1)).toBe(60_000);
  });
});
