import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DeleteQueueCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { createDeadLetters, type FailureRecord, type TransportMessage } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { namesFor } from './mapping.ts';
import { AWS_TEST_OPTIONS, awsAvailable, deleteUnder, prefixes, testClients } from './test-support/server.ts';
import { type AwsTransport, awsTransport } from './transport.ts';

const available = await awsAvailable();
const names = prefixes('dead');
const open: AwsTransport[] = [];
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

function parcel(n: number, body?: Uint8Array): TransportMessage {
  return {
    id: `parcel-${n}-${Math.random().toString(36).slice(2)}`,
    topic: 'ParcelScanned',
    key: `k-${n}`,
    headers: { 'content-type': 'application/json' },
    body: body ?? new TextEncoder().encode(JSON.stringify({ n })),
  };
}

const make = (prefix: string, fifo = false): AwsTransport => {
  const made = awsTransport({
    ...AWS_TEST_OPTIONS,
    prefix,
    fifo,
    waitTimeSeconds: 1,
    deadLetterReadWaitSeconds: 0,
  });
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

describe.skipIf(!available)('aws dead letters (a FIFO queue per prefix, read whole)', () => {
  it('keeps dead letters in SQS: a new transport lists what an old one stored, bytes intact', async () => {
    const prefix = names.next();
    const first = make(prefix);
    await first.consume({ ...consumeOptions, group: 'billing' }, (delivery) => delivery.deadLetter(failure));
    const binary = parcel(2, Uint8Array.from([0, 255, 128, 7]));
    await first.publish('parcels', [parcel(1), binary]);
    await eventually(async () => (await first.deadLetters.list({})).length === 2, {
      what: 'two dead letters',
    });
    await first.close();

    const second = make(prefix);
    const listed = await second.deadLetters.list({ group: 'billing' });
    expect(listed.map((d) => d.message.id).sort()).toEqual(
      [listed[0]?.message.id, listed[1]?.message.id].sort(),
    );
    const stored = listed.find((d) => d.message.id === binary.id);
    expect([...(stored?.message.body ?? [])]).toEqual([0, 255, 128, 7]);
    expect(stored).toMatchObject({
      channel: 'parcels',
      group: 'billing',
      handler: 'charge',
      reason: 'exhausted',
    });
    // A read hands everything back: the next read sees the same.
    expect((await second.deadLetters.list({})).length).toBe(2);
    expect(await second.deadLetters.depth()).toEqual([
      { group: 'billing', count: 2, oldestAt: expect.any(Number) },
    ]);
  });

  it('serves reads made at once by one transport, each seeing every dead letter', async () => {
    const transport = make(names.next());
    await transport.consume({ ...consumeOptions, group: 'g' }, (delivery) => delivery.deadLetter(failure));
    await transport.publish('parcels', [parcel(1), parcel(2), parcel(3)]);
    await eventually(async () => (await transport.deadLetters.list({})).length === 3, {
      what: 'three dead letters',
    });
    const reads = await Promise.all([
      transport.deadLetters.list({}),
      transport.deadLetters.depth(),
      transport.deadLetters.list({ limit: 2 }),
    ]);
    expect(reads[0]).toHaveLength(3);
    expect(reads[1]).toEqual([{ group: 'g', count: 3, oldestAt: expect.any(Number) }]);
    expect(reads[2]).toHaveLength(2);
  });

  it('replays to the group on a FIFO transport, and says so when the queue is gone', async () => {
    const transport = make(names.next(), true);
    const seen: { id: string; attempt: number }[] = [];
    await transport.consume({ ...consumeOptions, group: 'fifo-g' }, async (delivery) => {
      seen.push({ id: delivery.message.id, attempt: delivery.attempt });
      if (seen.length === 1) await delivery.deadLetter(failure);
      else await delivery.ack();
    });
    const sent = parcel(1);
    await transport.publish('parcels', [sent]);
    await eventually(async () => (await transport.deadLetters.list({})).length === 1, {
      what: 'the dead letter',
    });
    const tools = createDeadLetters(transport.deadLetters);
    expect(await tools.replay({ group: 'fifo-g' })).toEqual({ replayed: 1 });
    await eventually(() => seen.length === 2, { what: 'the replayed delivery' });
    expect(seen[1]?.id).toBe(sent.id);
    expect(await transport.deadLetters.list({})).toEqual([]);

    const prefix = names.next();
    const ghost = make(prefix);
    const consumer = await ghost.consume({ ...consumeOptions, group: 'gone' }, (delivery) =>
      delivery.deadLetter(failure),
    );
    await ghost.publish('parcels', [parcel(9)]);
    await eventually(async () => (await ghost.deadLetters.list({})).length === 1, {
      what: 'the dead letter',
    });
    await consumer.close();
    const { sqs } = testClients();
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: namesFor(prefix, false).queue('parcels', 'gone') }),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    sqs.destroy();
    const [record] = await ghost.deadLetters.list({});
    await expect(ghost.deadLetters.replay(record?.id ?? '')).rejects.toMatchObject({
      code: 'TIDINGS_NOT_FOUND',
    });
    // Nothing was lost by the failed replay; discarding removes it once.
    expect(await ghost.deadLetters.discard([record?.id ?? ''])).toBe(1);
    expect(await ghost.deadLetters.discard([record?.id ?? ''])).toBe(0);
  });
});
