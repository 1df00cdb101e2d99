import { describe, expect, it } from 'vitest';
import { createDeadLetters } from '../dead-letters.ts';
import { createEvent } from '../envelope.ts';
import { isTidingsError } from '../errors.ts';
import { createManualClock } from '../testing/manual-clock.ts';
import { memoryEventStore } from './memory-store.ts';
import { defineProjection } from './projection.ts';
import { projectionStatus, runProjections } from './projection-runner.ts';

const placed = (orderId: string, total: number) => createEvent('OrderPlaced', 1, { orderId, total });
const shipped = (orderId: string) => createEvent('OrderShipped', 1, { orderId });

type Order = { status: string; total: number };

function ordersProjection(version = 1, failOn?: string) {
  return defineProjection({
    name: 'orders',
    version,
    events: ['OrderPlaced', 'OrderShipped'],
    apply(event, { documents }) {
      const data = event.data as { orderId: string; total?: number };
      if (data.orderId === failOn) throw new Error(`cannot project order ${failOn}`);
      return documents.update<Order>('orders', data.orderId, (current) =>
        event.type === 'OrderPlaced'
          ? { status: version === 1 ? 'placed' : 'PLACED', total: data.total ?? 0 }
          : { status: 'shipped', total: current?.total ?? 0 },
      );
    },
  });
}

describe('defineProjection', () => {
  it('lists every problem of a bad definition at once', () => {
    let caught: unknown;
    try {
      defineProjection({ name: 'Bad Name', version: 0, events: [], apply: 3 as never });
    } catch (error) {
      caught = error;
    }
    expect(isTidingsError(caught, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    const message = (caught as Error).message;
    for (const part of ['name must be', 'version must be', 'events must be', 'apply must be']) {
      expect(message).toContain(part);
    }
  });
});

describe('projections on the memory store', () => {
  it('applies an inline projection in the append itself (read-your-writes at once)', async () => {
    const store = memoryEventStore({ projections: [ordersProjection()] });
    const { position } = await store.append('order-1', [placed('1', 30)]);
    await store.projections?.get('orders').waitFor(position);
    expect(await store.projections?.documents('orders').get('orders', '1')).toEqual({
      status: 'placed',
      total: 30,
    });
    await store.append('order-1', [shipped('1')]);
    // No wait: the shipment was applied inside the append.
    expect(await store.projections?.documents('orders').get('orders', '1')).toEqual({
      status: 'shipped',
      total: 30,
    });
    await store.close();
  });

  it('catches an async projection up with the history, then follows new appends; waitFor gives read-your-writes', async () => {
    const clock = createManualClock();
    const store = memoryEventStore({ clock });
    for (let i = 0; i < 25; i += 1) await store.append(`order-${i}`, [placed(String(i), i)]);
    const runner = runProjections(store, { projections: [ordersProjection()], batchSize: 10, clock });
    await runner.get('orders').live();
    expect((await runner.documents('orders').list('orders', { limit: 100 })).length).toBe(25);
    const { position } = await store.append('order-3', [shipped('3')]);
    await runner.get('orders').waitFor(position);
    expect(await runner.documents('orders').get('orders', '3')).toEqual({ status: 'shipped', total: 3 });
    const [state] = await runner.status();
    expect(state).toMatchObject({ name: 'orders', version: 1, status: 'live', applied: 26, deadLettered: 0 });
    await runner.close();
  });

  it('sends a failing event to the dead letters, pauses only its stream, and resumes it on replay', async () => {
    let failOn: string | undefined = '2';
    const projection = defineProjection({
      name: 'orders',
      events: ['OrderPlaced', 'OrderShipped'],
      apply(event, { documents }) {
        const data = event.data as { orderId: string; total?: number };
        if (data.orderId === failOn) throw new Error(`cannot project order ${data.orderId}`);
        return documents.put('orders', data.orderId, event.type);
      },
    });
    const store = memoryEventStore();
    const runner = runProjections(store, { projections: [projection] });
    await store.append('order-1', [placed('1', 1)]);
    await store.append('order-2', [placed('2', 2)]);
    await store.append('order-2', [shipped('2')]);
    const { position } = await store.append('order-1', [shipped('1')]);
    await runner.get('orders').waitFor(position);
    const documents = runner.documents('orders');
    expect(await documents.get('orders', '1')).toBe('OrderShipped');
    expect(await documents.get('orders', '2')).toBeUndefined();

    const deadLetters = createDeadLetters(runner.deadLetters);
    const listed = await deadLetters.list();
    expect(listed.map((d) => [d.type, d.reason, d.group])).toEqual([
      ['OrderPlaced', 'non-retryable', 'orders'],
      ['OrderShipped', 'paused', 'orders'],
    ]);
    expect(listed[0]?.error.message).toBe('cannot project order 2');
    await expect(deadLetters.replay(listed[1]?.id as string)).rejects.toThrow(/waits behind/);
    await expect(deadLetters.replay(listed[0]?.id as string)).rejects.toThrow(/failed again/);

    failOn = undefined;
    expect(await deadLetters.replay(listed[0]?.id as string)).toEqual({ replayed: 1 });
    expect(await documents.get('orders', '2')).toBe('OrderShipped');
    expect(await deadLetters.list()).toEqual([]);
    // The stream is no longer paused: new events apply normally.
    const next = await store.append('order-2', [placed('2', 5)]);
    await runner.get('orders').waitFor(next.position);
    expect(await documents.get('orders', '2')).toBe('OrderPlaced');
    await runner.close();
  });

  it('rebuilds from scratch with progress, ending with the same read model', async () => {
    const store = memoryEventStore();
    for (let i = 0; i < 12; i += 1) await store.append(`order-${i}`, [placed(String(i), i)]);
    const runner = runProjections(store, { projections: [ordersProjection()], batchSize: 5 });
    await runner.get('orders').live();
    const before = await runner.documents('orders').list('orders');
    const progress: number[] = [];
    await runner.rebuild('orders', { onProgress: (p) => progress.push(p.done) });
    expect(progress.at(-1)).toBe(12);
    expect(progress.every((done, i) => i === 0 || done >= (progress[i - 1] as number))).toBe(true);
    expect(await runner.documents('orders').list('orders')).toEqual(before);
    await runner.close();
  });

  it('resumes a rebuild cut short where its last batch ended, applying no event twice', async () => {
    const store = memoryEventStore();
    for (let i = 0; i < 30; i += 1) await store.append(`order-${i % 7}`, [placed(String(i), i)]);
    const first = runProjections(store, { projections: [ordersProjection()], batchSize: 4 });
    await first.get('orders').live();
    const expected = await first.documents('orders').list('orders');
    // The process dies midway through a rebuild: close the runner from its own progress report.
    let closing: Promise<void> | undefined;
    const cut = first.rebuild('orders', {
      onProgress: ({ done }) => {
        if (done >= 12) closing ??= first.close();
      },
    });
    await expect(cut).rejects.toThrow(/closed/);
    await closing;
    const [halfway] = await projectionStatus(store);
    expect(halfway).toMatchObject({ status: 'building' });
    expect(halfway?.applied).toBeGreaterThanOrEqual(12);
    expect(halfway?.applied).toBeLessThan(30);

    const second = runProjections(store, { projections: [ordersProjection()], batchSize: 4 });
    await second.get('orders').live();
    expect(await second.documents('orders').list('orders')).toEqual(expected);
    const [done] = await second.status();
    expect(done).toMatchObject({ status: 'live', applied: 30, deadLettered: 0 });
    await second.close();
  });

  it('reports progress of a rebuild that fits in one batch', async () => {
    const store = memoryEventStore();
    for (let i = 0; i < 3; i += 1) await store.append(`order-${i}`, [placed(String(i), i)]);
    const runner = runProjections(store, { projections: [ordersProjection()] });
    await runner.get('orders').live();
    for (let round = 0; round < 3; round += 1) {
      const progress: { done: number; total: number | undefined }[] = [];
      await runner.rebuild('orders', { onProgress: ({ done, total }) => progress.push({ done, total }) });
      expect(progress.at(-1)).toEqual({ done: 3, total: 3 });
    }
    await runner.close();
  });

  it('builds a new version beside the live one and switches reads when it has caught up (blue/green)', async () => {
    const store = memoryEventStore();
    for (let i = 0; i < 6; i += 1) await store.append(`order-${i}`, [placed(String(i), i)]);
    const v1 = runProjections(store, { projections: [ordersProjection(1)] });
    await v1.get('orders').live();
    expect(await v1.documents('orders').get('orders', '0')).toMatchObject({ status: 'placed' });
    const v2 = runProjections(store, { projections: [ordersProjection(2)], batchSize: 2 });
    await v2.get('orders').live();
    expect(await v1.documents('orders').get('orders', '0')).toMatchObject({ status: 'PLACED' });
    const states = await v2.status();
    expect(states.map((s) => [s.version, s.status])).toEqual([
      [1, 'retired'],
      [2, 'live'],
    ]);
    await v1.close();
    await v2.close();
  });

  it('refuses a promise from apply on a synchronous store, as a dead letter that says why', async () => {
    const projection = defineProjection({
      name: 'slow',
      events: ['OrderPlaced'],
      apply: () => Promise.resolve(undefined),
    });
    const store = memoryEventStore();
    const runner = runProjections(store, { projections: [projection] });
    const { position } = await store.append('order-1', [placed('1', 1)]);
    await runner.get('slow').waitFor(position);
    const [letter] = await createDeadLetters(runner.deadLetters).list();
    expect(letter?.error.message).toMatch(/synchronous/);
    await runner.close();
  });
});
