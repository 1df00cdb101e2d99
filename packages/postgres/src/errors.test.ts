import { isTidingsError } from '@tidings/core';
import { describe, expect, it } from 'vitest';
import { isConnectionError } from './errors.ts';
import { postgresTransport } from './transport.ts';

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
    await transport.close();
  });

  it('tells connection failures from statement errors', () => {
    expect(isConnectionError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('admin shutdown'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('syntax'), { code: '42601' }))).toBe(false);
    expect(isConnectionError('nope')).toBe(false);
  });
});
