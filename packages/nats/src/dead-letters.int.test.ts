import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import type { Delivery, TransportMessage } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { deleteStreams, NATS_TEST_URL, natsAvailable, testPrefix } from './test-support/server.ts';
import { natsTransport } from './transport.ts';

const available = await natsAvailable();
const prefix = testPrefix();

afterAll(async () => {
  if (available) await deleteStreams(prefix);
});

const failure = {
  handler: 'h',
  error: { name: 'Error', message: 'no', stack: 'x'.repeat(100_000) },
  attempts: 1,
  firstFailedAt: 1,
  lastFailedAt: 2,
  fingerprint: 'f',
  reason: 'exhausted' as const,
};

function message(n: number): TransportMessage {
  const id = randomUUID();
  return { id, topic: 'T', headers: { 'ce-id': id }, body: new TextEncoder().encode(`{"n":${n}}`) };
}

describe.skipIf(!available)('nats dead letters', () => {
  test('are addressed by their stream sequence, paged by it, and survive a long stack', async () => {
    const transport = natsTransport({ servers: NATS_TEST_URL, prefix });
    try {
      const channel = 'dl.channel';
      const group = 'billing.eu';
      const seen: Delivery[] = [];
      await transport.consume(
        { channel, group, topics: ['T'], concurrency: 4, ordered: false, leaseMs: 5_000 },
        async (delivery) => {
          seen.push(delivery);
          await delivery.deadLetter(failure);
        },
      );
      const sent = [message(1), message(2), message(3)];
      await transport.publish(channel, sent);
      await eventually(async () => (await transport.deadLetters.list({ group })).length === 3, {
        what: 'three dead letters',
      });
      const all = await transport.deadLetters.list({ group });
      const ids = all.map((record) => Number(record.id));
      expect(ids.every(Number.isInteger)).toBe(true);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(all.map((r) => r.message.id).sort()).toEqual(sent.map((m) => m.id).sort());
      expect(all[0]).toMatchObject({ channel, group, handler: 'h' });
      expect(all[0]?.error.stack?.length).toBeLessThan(10_000);
      expect((await transport.deadLetters.list({ group, after: all[0]?.id })).map((r) => r.id)).toEqual(
        all.slice(1).map((r) => r.id),
      );
      expect(await transport.deadLetters.get('0')).toBeUndefined();
      expect(await transport.deadLetters.get('abc')).toBeUndefined();
      expect(await transport.deadLetters.list({ group: 'nobody' })).toEqual([]);
      expect(await transport.deadLetters.depth()).toEqual([
        { group, count: 3, oldestAt: all[0]?.deadLetteredAt },
      ]);
      expect(await transport.deadLetters.discard(all.map((r) => r.id))).toBe(3);
      expect(await transport.deadLetters.depth()).toEqual([]);
    } finally {
      await transport.close();
    }
  });
});
