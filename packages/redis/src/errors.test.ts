import { describe, expect, it } from 'vitest';
import { isTidingsError } from '@tidings/core';
import { ClientOfflineError, ErrorReply, SocketClosedUnexpectedlyError } from 'redis';
import { MAX_RECONNECT_DELAY_MS, reconnectDelay } from './client.ts';
import { asUnavailable, isConnectionError } from './errors.ts';

const socketError = (code: string): Error => Object.assign(new Error(`read ${code}`), { code });

describe('asUnavailable', () => {
  it('turns an offline client into TIDINGS_UNAVAILABLE with nothing written', () => {
    const error = asUnavailable(new ClientOfflineError(), 'publish');
    expect(isTidingsError(error, 'TIDINGS_UNAVAILABLE')).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ written: 'no' });
    expect((error as Error).message).toMatch(/^Cannot publish: Redis is unreachable/);
  });

  it('says the outcome is unknown when the connection broke after sending', () => {
    for (const lost of [socketError('ECONNRESET'), new SocketClosedUnexpectedlyError()]) {
      const error = asUnavailable(lost, 'publish');
      expect((error as { details: unknown }).details).toEqual({ written: 'unknown' });
    }
  });

  it('counts a server that refuses writes for now as unavailable, and nothing written', () => {
    for (const reply of [
      'LOADING Redis is loading the dataset in memory',
      'OOM command not allowed',
      'READONLY',
    ]) {
      const error = asUnavailable(new ErrorReply(reply), 'publish');
      expect(isTidingsError(error, 'TIDINGS_UNAVAILABLE')).toBe(true);
      expect((error as { details: unknown }).details).toEqual({ written: 'no' });
    }
  });

  it('lets a bad command through as it is', () => {
    const wrong = new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(isConnectionError(wrong)).toBe(false);
    expect(asUnavailable(wrong, 'publish')).toBe(wrong);
  });
});

describe('reconnectDelay', () => {
  it('doubles from 50 ms up to the maximum, with at most 100 ms of jitter, and never gives up', () => {
    expect(reconnectDelay(0, () => 0)).toBe(50);
    expect(reconnectDelay(3, () => 0)).toBe(400);
    expect(reconnectDelay(1_000, () => 0)).toBe(MAX_RECONNECT_DELAY_MS);
    expect(reconnectDelay(1_000, () => 0.999)).toBe(MAX_RECONNECT_DELAY_MS + 99);
  });
});
