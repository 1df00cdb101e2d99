import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvent } from './define-event.ts';
import { isTidingsError } from './errors.ts';
import { memoryTransport } from './memory-transport.ts';
import { toTransportMessage } from './message.ts';
import { createManualClock, eventually } from './testing/index.ts';
import type { ConsumeOptions, Delivery, Transport, TransportMessage } from './transport.ts';

const OrderPlaced = defineEvent({ type: 'OrderPlaced', schema: z.object({ orderId: z.string() }) });
const OrderShipped = defineEvent({ type: 'OrderShipped', schema: z.object({ orderId: z.string() }) });

const order = (orderId: string): TransportMessage => toTransportMessage(OrderPlaced.create({ orderId }));

const options = (overrides: Partial<ConsumeOptions> = {}): ConsumeOptions => ({
  channel: 'shop',
  group: 'billing',
  topics: ['OrderPlaced'],
  concurrency: 1,
  ordered: false,
  leaseMs: 30_000,
  ...overrides,
});

/** Consumes into an array; the test settles each delivery itself. */
async function collect(transport: Transport, overrides: Partial<ConsumeOptions> = {}): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  await transport.consume(options(overrides), (delivery) => {
    deliveries.push(delivery);
    return Promise.resolve();
  });
  return deliveries;
}

async function errorOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('memoryTransport', () => {
  it('declares what it promises', () => {
    expect(memoryTransport().capabilities).toEqual({
      persistent: false,
      consumerGroups: true,
      ordering: 'per-subject',
      delayedDelivery: true,
      deliveryCounter: true,
      leases: true,
      duplicates: 'only-after-failure',
      maxMessageBytes: 16 * 1024 * 1024,
    });
    expect(memoryTransport({ maxMessageBytes: 1024 }).capabilities.maxMessageBytes).toBe(1024);
  });

  it('keeps no state shared with the publisher or between deliveries', async () => {
    const transport = memoryTransport({ clock: createManualClock() });
    const billing = await collect(transport);
    const audit = await collect(transport, { group: 'audit' });
    const sent = order('o-1');
    const body = new Uint8Array(sent.body);
    const headers = { ...sent.headers };
    await transport.publish('shop', [{ ...sent, body, headers }]);
    body[0] = 0;
    headers['ce-id'] = 'changed';
    await eventually(() => billing.length === 1 && audit.length === 1);
    const [first] = billing as [Delivery];
    expect(Buffer.from(first.message.body)).toEqual(Buffer.from(sent.body));
    expect(first.message.headers['ce-id']).toBe(sent.id);

    first.message.body[0] = 0;
    expect(Buffer.from(audit[0]?.message.body ?? [])).toEqual(Buffer.from(sent.body));
    await first.nack();
    await eventually(() => billing.length === 2);
    expect(Buffer.from(billing[1]?.message.body ?? [])).toEqual(Buffer.from(sent.body));
  });

  it('keeps messages only for groups that exist: a group starts with its first consume', async () => {
    const transport = memoryTransport({ clock: createManualClock() });
    await transport.publish('shop', [order('before')]);
    const deliveries = await collect(transport);
    await transport.publish('shop', [order('after')]);
    await eventually(() => deliveries.length === 1);
    expect(deliveries[0]?.message.headers['ce-type']).toBe('OrderPlaced');
    expect(JSON.parse(Buffer.from(deliveries[0]?.message.body ?? []).toString())).toEqual({
      orderId: 'after',
    });
  });

  it('gives each member of a group only the topics it asked for', async () => {
    const transport = memoryTransport({ clock: createManualClock() });
    const placed = await collect(transport, { topics: ['OrderPlaced'] });
    const shipped = await collect(transport, { topics: ['OrderShipped'] });
    const shipment = toTransportMessage(OrderShipped.create({ orderId: 'o-1' }));
    await transport.publish('shop', [order('o-1'), shipment, order('o-2')]);
    await eventually(() => placed.length === 1 && shipped.length === 1);
    await placed[0]?.ack();
    await eventually(() => placed.length === 2);
    expect(placed.map((d) => d.message.topic)).toEqual(['OrderPlaced', 'OrderPlaced']);
    expect(shipped.map((d) => d.message.id)).toEqual([shipment.id]);
  });

  it('refuses a body over maxMessageBytes, and then publishes nothing of the batch', async () => {
    const transport = memoryTransport({ clock: createManualClock(), maxMessageBytes: 64 });
    const deliveries = await collect(transport);
    const small = order('o-1');
    const big = toTransportMessage(OrderPlaced.create({ orderId: 'x'.repeat(100) }));
    const error = await errorOf(transport.publish('shop', [small, big]));
    expect(isTidingsError(error, 'TIDINGS_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toContain('at most 64');
    await transport.publish('shop', [order('o-2')]);
    await eventually(() => deliveries.length === 1);
    expect(deliveries[0]?.message.id).not.toBe(small.id);
  });

  it('refuses what is not a transport message, naming every problem', async () => {
    const transport = memoryTransport();
    const bad = {
      id: '',
      topic: 'OrderPlaced',
      headers: { n: 1 },
      body: 'text',
    } as unknown as TransportMessage;
    const error = await errorOf(transport.publish('shop', [bad]));
    expect(isTidingsError(error, 'TIDINGS_MALFORMED')).toBe(true);
    expect((error as Error).message).toMatch(/id must be.*headers must be.*body must be/);
  });

  it('lists every problem of consume options at once', async () => {
    const transport = memoryTransport();
    const error = await errorOf(
      transport.consume(options({ group: '', topics: [], concurrency: 0, leaseMs: -1 }), () =>
        Promise.resolve(),
      ),
    );
    expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    expect((error as { details: { problems: string[] } }).details.problems).toHaveLength(4);
  });

  it('nacks a delivery whose handler rejects without settling it', async () => {
    const transport = memoryTransport({ clock: createManualClock() });
    const attempts: number[] = [];
    await transport.consume(options(), async (delivery) => {
      attempts.push(delivery.attempt);
      if (delivery.attempt === 1) throw new Error('boom');
      await delivery.ack();
    });
    await transport.publish('shop', [order('o-1')]);
    await eventually(() => attempts.length === 2);
    expect(attempts).toEqual([1, 2]);
  });

  it('sets no real timers: leases and delays wait on the manual clock', async () => {
    const clock = createManualClock();
    const transport = memoryTransport({ clock });
    const deliveries = await collect(transport);
    await transport.publish('shop', [order('o-1')]);
    await eventually(() => deliveries.length === 1);
    expect(clock.pending).toBe(1);
    await deliveries[0]?.nack({ delayMs: 60_000 });
    expect(clock.pending).toBe(1);
    await clock.advance(60_000);
    await eventually(() => deliveries.length === 2);
    await deliveries[1]?.ack();
    expect(clock.pending).toBe(0);
  });

  it('refuses a negative nack delay', async () => {
    const transport = memoryTransport({ clock: createManualClock() });
    const deliveries = await collect(transport);
    await transport.publish('shop', [order('o-1')]);
    await eventually(() => deliveries.length === 1);
    const error = await errorOf(deliveries[0]?.nack({ delayMs: -5 }) ?? Promise.resolve());
    expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
  });

  it('waits on close for deliveries in flight, then refuses new work', async () => {
    const clock = createManualClock();
    const transport = memoryTransport({ clock });
    const deliveries = await collect(transport);
    await transport.publish('shop', [order('o-1')]);
    await eventually(() => deliveries.length === 1);
    let closed = false;
    const closing = transport.close().then(() => {
      closed = true;
    });
    await clock.advance(0);
    expect(closed).toBe(false);
    await deliveries[0]?.ack();
    await closing;
    expect(transport.close()).toBe(transport.close());
    const error = await errorOf(transport.publish('shop', [order('o-2')]));
    expect(isTidingsError(error, 'TIDINGS_CLOSED')).toBe(true);
    expect(
      isTidingsError(await errorOf(transport.consume(options(), () => Promise.resolve())), 'TIDINGS_CLOSED'),
    ).toBe(true);
  });

  it('resumes a dead-letter listing after a dead letter that was since removed', async () => {
    const clock = createManualClock();
    const transport = memoryTransport({ clock });
    await transport.consume(options(), (delivery) =>
      delivery.deadLetter({
        handler: 'charge',
        error: { name: 'Error', message: 'no' },
        attempts: 1,
        firstFailedAt: clock.now(),
        lastFailedAt: clock.now(),
        fingerprint: 'Error:no:charge',
        reason: 'non-retryable',
      }),
    );
    for (const [index, id] of ['o-1', 'o-2', 'o-3'].entries()) {
      await transport.publish('shop', [order(id)]);
      await eventually(async () => (await transport.deadLetters.list({})).length === index + 1);
      await clock.advance(1_000);
    }
    const [first, second, third] = await transport.deadLetters.list({});
    await transport.deadLetters.discard([first?.id ?? '']);
    expect((await transport.deadLetters.list({ after: first?.id })).map((r) => r.id)).toEqual([
      second?.id,
      third?.id,
    ]);
  });
});
