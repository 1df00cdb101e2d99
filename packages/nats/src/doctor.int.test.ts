import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { afterAll, describe, expect, test } from 'vitest';
import { formatFinding } from '@tidings/core';
import { deleteStreams, NATS_TEST_URL, natsAvailable, testPrefix } from './test-support/server.ts';
import { natsTransport } from './transport.ts';

const available = await natsAvailable();
const prefix = testPrefix();

afterAll(async () => {
  if (available) await deleteStreams(prefix);
});

describe.skipIf(!available)('nats doctor', () => {
  test('fails memory storage, warns of one replica, a short duplicate window and fsync, and a max_deliver', async () => {
    const transport = natsTransport({ servers: NATS_TEST_URL, prefix, retryHorizonMs: 600_000 });
    try {
      const consumer = await transport.consume(
        {
          channel: 'orders',
          group: 'billing',
          topics: ['T'],
          concurrency: 1,
          ordered: false,
          leaseMs: 5_000,
        },
        () => Promise.resolve(),
      );
      await consumer.close();
      const jsm = await jetstreamManager(await transport.connection());
      await jsm.streams.add({
        name: `${prefix}_ch_scratch`,
        subjects: [`${prefix}.ch.scratch.>`],
        storage: StorageType.Memory,
      });
      await jsm.consumers.update(`${prefix}_ch_orders`, 'billing', { max_deliver: 5 });

      const findings = await transport.doctor();
      const lines = findings.map(formatFinding);
      const of = (check: string, level: string): string[] =>
        findings.filter((f) => f.check === check && f.level === level).map((f) => f.message);
      expect(of('nats.jetstream', 'ok')).toHaveLength(1);
      expect(of('nats.sync', 'warn')).toHaveLength(1);
      expect(of('nats.storage', 'fail')).toEqual([expect.stringContaining(`${prefix}_ch_scratch`)]);
      expect(of('nats.replicas', 'warn').length).toBeGreaterThanOrEqual(2);
      expect(of('nats.duplicate-window', 'warn')).toContainEqual(
        expect.stringContaining(`${prefix}_ch_orders`),
      );
      expect(of('nats.max-deliver', 'warn')).toEqual([expect.stringContaining('after 5 deliveries')]);
      expect(lines.every((line) => /^(OK|WARN|FAIL)/.test(line))).toBe(true);
    } finally {
      await transport.close();
    }
  });
});
