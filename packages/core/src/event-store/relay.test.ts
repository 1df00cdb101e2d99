import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus } from '../bus.ts';
import { createCatalog } from '../catalog.ts';
import { defineEvent } from '../define-event.ts';
import { createEvent, type Event } from '../envelope.ts';
import { isTidingsError } from '../errors.ts';
import { memoryTransport } from '../memory-transport.ts';
import { createManualClock } from '../testing/manual-clock.ts';
import { eventually } from '../testing/transport-cases/harness.ts';
import { memoryCheckpoints } from './checkpoints.ts';
import { memoryEventStore } from './memory-store.ts';
import { relayToBus } from './relay.ts';
import type { StoreSubscriptionFailure } from './subscription.ts';

const OrderPlaced = defineEvent({ type: 'OrderPlaced', version: 1, schema: z.object({ n: z.number() }) });
const OrderShipped = defineEvent({ type: 'OrderShipped', version: 1, schema: z.object({ n: z.number() }) });
const catalog = createCatalog({ events: [OrderPlaced, OrderShipped] });

async function setup() {
  const clock = createManualClock();
  const store = memoryEventStore({ catalog, clock });
  const bus = createBus({ catalog, transport: memoryTransport() });
  const received: Event[] = [];
  await bus.subscribe({ group: 'audit', patterns: ['*'], handler: (event) => void received.push(event) });
  const numbers = () => received.map((event) => (event.data as { n: number }).n);
  return { clock, store, bus, received, numbers, checkpoints: memoryCheckpoints() };
}

describe('relayToBus', () => {
  it('publishes stored events to the bus in commit order, as plain envelopes', async () => {
    const { clock, store, bus, received, numbers, checkpoints } = await setup();
    await store.append('order-1', [OrderPlaced.create({ n: 1 }, { subject: 'order-1' })]);
    await store.append('order-2', [OrderPlaced.create({ n: 2 }), OrderShipped.create({ n: 3 })]);
    const last = await store.append('order-1', [OrderShipped.create({ n: 4 })]);
    const relay = relayToBus(store, bus, { name: 'relay', checkpoints, batchSize: 3, clock });
    await relay.waitFor(last.position);
    await eventually(() => received.length === 4);
    expect(numbers()).toEqual([1, 2, 3, 4]);
    expect(received[0]).toMatchObject({ type: 'OrderPlaced', subject: 'order-1' });
    expect(received[0]).not.toHaveProperty('position');
    expect(received[0]).not.toHaveProperty('stream');
    await relay.close();
    await bus.close();
  });

  it('resumes from its checkpoint: a new relay publishes only what the old one had not', async () => {
    const { clock, store, bus, received, numbers, checkpoints } = await setup();
    const first = await store.append('order-1', [
      OrderPlaced.create({ n: 1 }),
      OrderShipped.create({ n: 2 }),
    ]);
    const before = relayToBus(store, bus, { name: 'relay', checkpoints, clock });
    await before.waitFor(first.position);
    await before.close();
    const later = await store.append('order-2', [OrderPlaced.create({ n: 3 })]);
    const after = relayToBus(store, bus, { name: 'relay', checkpoints, clock });
    await after.waitFor(later.position);
    await eventually(() => received.length === 3);
    expect(numbers()).toEqual([1, 2, 3]);
    await after.close();
    await bus.close();
  });

  it('retries a batch the bus refuses instead of skipping it', async () => {
    const { clock, bus, received, checkpoints } = await setup();
    // Stored by a service whose catalog knew this type; this bus's catalog does not.
    const plain = memoryEventStore({ clock });
    await plain.append('x', [createEvent('OrderLost', 1, { n: 0 })]);
    const failures: StoreSubscriptionFailure[] = [];
    const errors: unknown[] = [];
    const relay = relayToBus(plain, bus, {
      name: 'relay',
      checkpoints,
      clock,
      onError: (error, failure) => {
        errors.push(error);
        failures.push(failure);
      },
    });
    await eventually(() => failures.length === 1);
    await clock.advance(failures[0]?.delayMs ?? 0);
    await eventually(() => failures.length === 2);
    expect(errors.every((error) => isTidingsError(error, 'TIDINGS_UNKNOWN_TYPE'))).toBe(true);
    expect(failures.map((f) => [f.stage, f.attempt])).toEqual([
      ['handle', 1],
      ['handle', 2],
    ]);
    expect(relay.position()).toBeUndefined();
    expect(await checkpoints.load('relay')).toBeUndefined();
    expect(received).toEqual([]);
    await relay.close();
    await bus.close();
  });

  it('rejects something that is not a bus', () => {
    expect(() =>
      relayToBus(memoryEventStore(), {} as never, { name: 'r', checkpoints: memoryCheckpoints() }),
    ).toThrow(/createBus/);
  });
});
