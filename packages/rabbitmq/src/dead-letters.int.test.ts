import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect } from 'amqplib';
import type { DeadLetterRecord, FailureRecord, TransportMessage } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { namesFor } from './mapping.ts';
import { deleteUnder, prefixes, RABBITMQ_TEST_URL, rabbitmqAvailable } from './test-support/server.ts';
import { type RabbitmqTransport, rabbitmqTransport } from './transport.ts';

const available = await rabbitmqAvailable();
const names = prefixes('dead');
const open: RabbitmqTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  if (available) await deleteUnder(names.root);
}, 60_000);

const failure: FailureRecord = {
  handler: 'charge',
  error: { name: 'Error', message: 'declined' },
  attempts: 1,
  firstFailedAt: 1,
  lastFailedAt: 2,
  fingerprint: 'Error:declined:charge',
  reason: 'exhausted',
};

function parcel(n: number, headers: Record<string, string> = {}, body?: Uint8Array): TransportMessage {
  return {
    id: `parcel-${n}-${Math.random().toString(36).slice(2)}`,
    topic: 'ParcelScanned',
    key: `k-${n}`,
    headers: { 'content-type': 'application/json', ...headers },
    body: body ?? new TextEncoder().encode(JSON.stringify({ n })),
  };
}

const make = (prefix: string): RabbitmqTransport => {
  const made = rabbitmqTransport({ url: RABBITMQ_TEST_URL, prefix });
  open.push(made);
  return made;
};
const consumeOptions = {
  channel: 'parcels',
  topics: ['ParcelScanned'],
  concurrency: 4,
  ordered: false,
  leaseMs: 30_000,
};

/** Consumes `group` on `transport`, dead-lettering everything. */
async function deadLetterAll(transport: RabbitmqTransport, group: string): Promise<void> {
  await transport.consume({ ...consumeOptions, group }, (delivery) => delivery.deadLetter(failure));
}

describe.skipIf(!available)('rabbitmq dead letters (a stream per prefix)', () => {
  it('keeps dead letters in the broker: a new transport lists what an old one stored', async () => {
    const prefix = names.next();
    const first = make(prefix);
    await deadLetterAll(first, 'billing');
    const sent = [parcel(1), parcel(2)];
    await first.publish('parcels', sent);
    await eventually(async () => (await first.deadLetters.list({ group: 'billing' })).length === 2, {
      what: 'two dead letters',
    });
    await first.close();

    const second = make(prefix);
    const listed = await second.deadLetters.list({});
    expect(listed.map((r) => r.message.id).sort()).toEqual(sent.map((m) => m.id).sort());
    expect(await second.deadLetters.depth()).toEqual([
      { group: 'billing', count: 2, oldestAt: listed[0]?.deadLetteredAt },
    ]);
  });

  it('sees a dead letter in the first read after it was stored', async () => {
    const t = make(names.next());
    let stored = 0;
    const mismatches: string[] = [];
    await t.consume({ ...consumeOptions, group: 'eager' }, async (delivery) => {
      await delivery.deadLetter(failure);
      stored += 1;
      // Read-your-writes: each read appends a mark and reads up to it.
      const count = (await t.deadLetters.list({ group: 'eager' })).length;
      if (count < stored) mismatches.push(`read ${count} after storing ${stored}`);
    });
    await t.publish('parcels', [parcel(1), parcel(2), parcel(3), parcel(4), parcel(5)]);
    await eventually(() => stored === 5, { what: () => `${stored} of 5 stored` });
    expect(mismatches).toEqual([]);
  });

  it('keeps framed headers and a large body byte for byte', async () => {
    const t = make(names.next());
    await deadLetterAll(t, 'heavy');
    const body = new Uint8Array(Array.from({ length: 512 * 1024 }, (_, i) => (i * 31) % 256));
    const sent = parcel(1, { 'x-large': 'z'.repeat(70_000), 'x-unicode': 'Grüße ✓' }, body);
    await t.publish('parcels', [sent]);
    await eventually(async () => (await t.deadLetters.list({ group: 'heavy' })).length === 1, {
      what: 'the dead letter',
    });
    const [record] = (await t.deadLetters.list({ group: 'heavy' })) as [DeadLetterRecord];
    expect(record.message.headers).toEqual(sent.headers);
    expect(record.message.key).toBe(sent.key);
    expect(Buffer.from(record.message.body).equals(Buffer.from(body))).toBe(true);
  });

  it('refuses to replay into a queue that is gone, and keeps the dead letter', async () => {
    const prefix = names.next();
    const t = make(prefix);
    const consumer = await t.consume({ ...consumeOptions, group: 'vanishing' }, (d) => d.deadLetter(failure));
    await t.publish('parcels', [parcel(1)]);
    await eventually(async () => (await t.deadLetters.list({ group: 'vanishing' })).length === 1, {
      what: 'the dead letter',
    });
    const [record] = (await t.deadLetters.list({ group: 'vanishing' })) as [DeadLetterRecord];
    await consumer.close();
    const connection = await connect(RABBITMQ_TEST_URL);
    const channel = await connection.createChannel();
    await channel.deleteQueue(namesFor(prefix).queue('parcels', 'vanishing'));
    await connection.close();

    await expect(t.deadLetters.replay(record.id)).rejects.toMatchObject({ code: 'TIDINGS_NOT_FOUND' });
    expect(await t.deadLetters.get(record.id)).toEqual(record);
    await expect(t.deadLetters.replay(`${record.id}-missing`)).resolves.toBe(false);
    expect(await t.deadLetters.discard([record.id, record.id])).toBe(1);
    expect(await t.deadLetters.get(record.id)).toBeUndefined();
    expect(await t.deadLetters.depth()).toEqual([]);
  });
});
