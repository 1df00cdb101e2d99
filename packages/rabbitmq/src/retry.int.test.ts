import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect } from 'amqplib';
import type { Delivery, TransportConsumer, TransportMessage } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { delayBucket, namesFor } from './mapping.ts';
import { deleteUnder, prefixes, RABBITMQ_TEST_URL, rabbitmqAvailable } from './test-support/server.ts';
import { type RabbitmqTransport, rabbitmqTransport } from './transport.ts';

const available = await rabbitmqAvailable();
const names = prefixes('retry');
const open: RabbitmqTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  if (available) await deleteUnder(names.root);
}, 60_000);

function parcel(n: number): TransportMessage {
  return {
    id: `parcel-${n}-${Math.random().toString(36).slice(2)}`,
    topic: 'ParcelScanned',
    headers: { 'content-type': 'application/json' },
    body: new TextEncoder().encode(JSON.stringify({ n })),
  };
}

function transport(): { transport: RabbitmqTransport; prefix: string } {
  const prefix = names.next();
  const made = rabbitmqTransport({ url: RABBITMQ_TEST_URL, prefix });
  open.push(made);
  return { transport: made, prefix };
}

async function queueExists(queue: string): Promise<boolean> {
  const connection = await connect(RABBITMQ_TEST_URL);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await channel.checkQueue(queue).then(
      () => true,
      () => false,
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const consumeOptions = {
  channel: 'parcels',
  topics: ['ParcelScanned'],
  concurrency: 4,
  ordered: false,
  leaseMs: 30_000,
};

describe.skipIf(!available)('rabbitmq delayed retries', () => {
  it('parks a delayed nack in the bucket at least as long as the delay, and returns it to its own group only', async () => {
    const { transport: t, prefix } = transport();
    const billing: { at: number; delivery: Delivery }[] = [];
    const audit: string[] = [];
    await t.consume({ ...consumeOptions, group: 'billing' }, async (delivery) => {
      billing.push({ at: Date.now(), delivery });
      if (delivery.attempt === 1) await delivery.nack({ delayMs: 300, tries: 2, failedAt: 1_234 });
      else await delivery.ack();
    });
    await t.consume({ ...consumeOptions, group: 'audit' }, async (delivery) => {
      audit.push(delivery.message.id);
      await delivery.ack();
    });
    const sent = parcel(1);
    await t.publish('parcels', [sent]);
    await eventually(() => billing.length === 2, { what: 'the delayed redelivery' });

    const [first, again] = billing as [(typeof billing)[0], (typeof billing)[0]];
    expect(again.at - first.at).toBeGreaterThanOrEqual(300 - 10);
    expect(again.delivery).toMatchObject({ attempt: 2, previousTries: 2, firstFailedAt: 1_234 });
    expect(again.delivery.message).toEqual(first.delivery.message);
    expect(await queueExists(namesFor(prefix).delay(delayBucket(300)))).toBe(true);
    // The marker comes after the redelivery in audit's queue: had the copy reached audit, it would be seen.
    const marker = parcel(2);
    await t.publish('parcels', [marker]);
    await eventually(() => audit.includes(marker.id), { what: 'the marker in audit' });
    expect(audit).toEqual([sent.id, marker.id]);
  });

  it('returns shorter delays first, whatever order they were nacked in', async () => {
    const { transport: t } = transport();
    const returned: number[] = [];
    const delays = new Map<number, number>([
      [1, 900],
      [2, 60],
      [3, 350],
    ]);
    await t.consume({ ...consumeOptions, group: 'sorter' }, async (delivery) => {
      const { n } = JSON.parse(Buffer.from(delivery.message.body).toString()) as { n: number };
      if (delivery.attempt === 1) await delivery.nack({ delayMs: delays.get(n) ?? 0 });
      else {
        returned.push(n);
        await delivery.ack();
      }
    });
    await t.publish('parcels', [parcel(1), parcel(2), parcel(3)]);
    await eventually(() => returned.length === 3, { what: () => `${returned.length} of 3 returned` });
    expect(returned).toEqual([2, 3, 1]);
  });

  it('counts attempts across a nack and a release by a closing consumer', async () => {
    const { transport: t } = transport();
    const attempts: number[] = [];
    const first: TransportConsumer = await t.consume(
      { ...consumeOptions, group: 'counter' },
      async (delivery) => {
        attempts.push(delivery.attempt);
        if (delivery.attempt === 1) await delivery.nack({ tries: 1 });
        // Attempt 2 is held until the consumer closes and releases it.
      },
    );
    await t.publish('parcels', [parcel(1)]);
    await eventually(() => attempts.length === 2, { what: 'the redelivery after the nack' });
    await first.close({ timeoutMs: 0 });
    const later: Delivery[] = [];
    await t.consume({ ...consumeOptions, group: 'counter' }, async (delivery) => {
      later.push(delivery);
      await delivery.ack();
    });
    await eventually(() => later.length === 1, { what: 'the released delivery' });
    expect(attempts).toEqual([1, 2]);
    expect(later[0]).toMatchObject({ attempt: 3, previousTries: 1 });
  });
});
