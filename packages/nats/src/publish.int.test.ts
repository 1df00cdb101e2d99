import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, test } from 'vitest';
import type { Delivery, TransportMessage } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { deleteStreams, NATS_TEST_URL, natsAvailable, testPrefix } from './test-support/server.ts';
import { natsTransport } from './transport.ts';

const available = await natsAvailable();
const prefix = testPrefix();
const transport = available ? natsTransport({ servers: NATS_TEST_URL, prefix }) : undefined;

afterAll(async () => {
  await transport?.close();
  if (available) await deleteStreams(prefix);
});

function message(id: string = randomUUID(), bytes = 16): TransportMessage {
  return { id, topic: 'ParcelScanned', headers: { 'ce-id': id }, body: new Uint8Array(bytes).fill(65) };
}

describe.skipIf(!available)('nats publish', () => {
  test('stores a message published twice with one id once, within the duplicate window', async () => {
    if (transport === undefined) return;
    const channel = `dedup-${randomUUID().slice(0, 8)}`;
    const received: Delivery[] = [];
    const consumer = await transport.consume(
      { channel, group: 'g', topics: ['ParcelScanned'], concurrency: 4, ordered: false, leaseMs: 5_000 },
      async (delivery) => {
        received.push(delivery);
        await delivery.ack();
      },
    );
    const twice = message();
    await transport.publish(channel, [twice]);
    await transport.publish(channel, [twice, message('marker')]);
    await eventually(() => received.some((d) => d.message.id === 'marker'), { what: 'the marker' });
    await consumer.close();
    expect(received.filter((d) => d.message.id === twice.id)).toHaveLength(1);
    const nc = await transport.connection();
    const info = await (await jetstreamManager(nc)).streams.info(`${prefix}_ch_${channel}`);
    expect(info.state.messages).toBe(2);
  });

  test('refuses a message larger than the server takes, with TIDINGS_UNSUPPORTED', async () => {
    if (transport === undefined) return;
    const small = natsTransport({ servers: NATS_TEST_URL, prefix, maxMessageBytes: 2 * 1024 * 1024 });
    try {
      await expect(small.publish('too-big', [message(undefined, 1024 * 1024)])).rejects.toMatchObject({
        code: 'TIDINGS_UNSUPPORTED',
        message: expect.stringMatching(/max_payload/) as unknown,
      });
      await expect(transport.publish('too-big', [message(undefined, 1024 * 1024)])).rejects.toMatchObject({
        code: 'TIDINGS_UNSUPPORTED',
      });
    } finally {
      await small.close();
    }
  });

  test('refuses to take over a stream it did not make', async () => {
    if (transport === undefined) return;
    const nc = await transport.connection();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `${prefix}_ch_foreign`, subjects: [`${prefix}-elsewhere.>`] });
    await expect(transport.publish('foreign', [message()])).rejects.toMatchObject({
      code: 'TIDINGS_INVALID_OPTIONS',
      message: expect.stringMatching(/not one the nats transport made/) as unknown,
    });
  });

  test('fails fast with TIDINGS_UNAVAILABLE when no server answers', async () => {
    const nowhere = natsTransport({
      servers: 'nats://127.0.0.1:1',
      prefix,
      requestTimeoutMs: 300,
      onError: () => undefined,
    });
    try {
      await expect(nowhere.publish('c', [message()])).rejects.toMatchObject({ code: 'TIDINGS_UNAVAILABLE' });
    } finally {
      await nowhere.close();
    }
  });
});
