import { describe, expect, it } from 'vitest';
import { isTidingsError } from '@tidings/core';
import { ClientOfflineError } from 'redis';
import { type AckTarget, createAckBatcher, MAX_ACK_BATCH } from './ack-batcher.ts';
import type { RedisClient } from './client.ts';

/** A client that records the scripts it is asked to run, and answers each with `reply`. */
function fakeClient(reply: (args: readonly string[]) => Promise<unknown>): {
  client: RedisClient;
  calls: string[][];
} {
  const calls: string[][] = [];
  const client = {
    sendCommand(args: string[]): Promise<unknown> {
      if (args[0] === 'SCRIPT') return Promise.resolve('sha');
      calls.push(args);
      return reply(args);
    },
  };
  return { client: client as unknown as RedisClient, calls };
}

const target = (n: number, stream = 's:orders'): AckTarget => ({
  stream,
  entryId: `${n}-0`,
  messageId: `m-${n}`,
  token: 'lease',
  own: stream.startsWith('r:'),
});

const allAcked = (args: readonly string[]): Promise<number[]> => {
  // EVALSHA, sha, number of keys, the keys, the group, then five values per ack.
  const count = (args.length - 4 - Number(args[2])) / 5;
  return Promise.resolve(Array.from({ length: count }, () => 1));
};

describe('createAckBatcher', () => {
  it('sends the acks of one turn as one script call, and resolves each of them', async () => {
    const { client, calls } = fakeClient(allAcked);
    const acks = createAckBatcher(client, 'billing', 'a:orders:billing');
    await Promise.all([acks.ack(target(1)), acks.ack(target(2, 'r:orders:billing')), acks.ack(target(3))]);
    expect(calls).toEqual([
      [
        'EVALSHA',
        'sha',
        '3',
        'a:orders:billing',
        's:orders',
        'r:orders:billing',
        'billing',
        ...['2', '1-0', 'm-1', 'lease', '0'],
        ...['3', '2-0', 'm-2', 'lease', '1'],
        ...['2', '3-0', 'm-3', 'lease', '0'],
      ],
    ]);
  });

  it(`splits more than ${MAX_ACK_BATCH} acks into several calls`, async () => {
    const { client, calls } = fakeClient(allAcked);
    const acks = createAckBatcher(client, 'g', 'a');
    await Promise.all(Array.from({ length: MAX_ACK_BATCH + 1 }, (_, n) => acks.ack(target(n))));
    expect(calls.map((args) => (args.length - 6) / 5)).toEqual([MAX_ACK_BATCH, 1]);
  });

  it('rejects every ack of a batch that failed, as TIDINGS_UNAVAILABLE when Redis is away', async () => {
    const { client } = fakeClient(() => Promise.reject(new ClientOfflineError()));
    const acks = createAckBatcher(client, 'g', 'a');
    const outcomes = await Promise.allSettled([acks.ack(target(1)), acks.ack(target(2))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    for (const outcome of outcomes) {
      expect(isTidingsError((outcome as PromiseRejectedResult).reason, 'TIDINGS_UNAVAILABLE')).toBe(true);
    }
  });

  it('drain sends what is queued at once and waits for the answer', async () => {
    let answer: (() => void) | undefined;
    const { client, calls } = fakeClient(
      (args) =>
        new Promise((resolve) => {
          answer = () => resolve(allAcked(args));
        }),
    );
    const acks = createAckBatcher(client, 'g', 'a');
    let acked = false;
    void acks.ack(target(1)).then(() => {
      acked = true;
    });
    let drained = false;
    const draining = acks.drain().then(() => {
      drained = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toHaveLength(1);
    expect(drained).toBe(false);
    answer?.();
    await draining;
    expect(acked).toBe(true);
  });
});
