import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runWithCause } from '../context.ts';
import { defineEvent } from '../define-event.ts';
import type { Event } from '../envelope.ts';
import { correlation } from './correlation.ts';
import { contextFor } from './test-context.ts';

const OrderPlaced = defineEvent({ type: 'OrderPlaced', schema: z.object({ orderId: z.string() }) });
const PaymentRequested = defineEvent({ type: 'PaymentRequested', schema: z.object({ orderId: z.string() }) });

const request = () => PaymentRequested.create({ orderId: 'o-1' });

describe('correlation', () => {
  it('correlates events created inside next to the delivered event', async () => {
    const incoming = OrderPlaced.create({ orderId: 'o-1' });
    const { ctx } = contextFor(incoming, { decoded: true });
    let created: Event | undefined;
    await correlation()(ctx, () => {
      created = request();
      return Promise.resolve();
    });
    expect(created?.correlationId).toBe(incoming.correlationId);
    expect(created?.causationId).toBe(incoming.id);
  });

  it('keeps the correlation across awaits and clock waits inside next', async () => {
    const incoming = OrderPlaced.create({ orderId: 'o-1' });
    const { ctx, clock } = contextFor(incoming, { decoded: true });
    const created: Event[] = [];
    const run = correlation()(ctx, async () => {
      await Promise.resolve();
      created.push(request());
      await ctx.clock.sleep(1_000);
      created.push(request());
    });
    await clock.advance(1_000);
    await run;
    expect(created).toHaveLength(2);
    for (const event of created) {
      expect(event.correlationId).toBe(incoming.correlationId);
      expect(event.causationId).toBe(incoming.id);
    }
  });

  it('carries the chain on: the correlation id of a caused event is that of the root, not its own id', async () => {
    const root = OrderPlaced.create({ orderId: 'o-1' });
    const incoming = runWithCause(root, () => OrderPlaced.create({ orderId: 'o-1' }));
    expect(incoming.correlationId).toBe(root.id);
    const { ctx } = contextFor(incoming, { decoded: true });
    let created: Event | undefined;
    await correlation()(ctx, () => {
      created = request();
      return Promise.resolve();
    });
    expect(created?.correlationId).toBe(root.id);
    expect(created?.causationId).toBe(incoming.id);
  });

  it('lets ids given explicitly at creation win over the delivered event', async () => {
    const { ctx } = contextFor(OrderPlaced.create({ orderId: 'o-1' }), { decoded: true });
    let created: Event | undefined;
    await correlation()(ctx, () => {
      created = PaymentRequested.create({ orderId: 'o-1' }, { correlationId: 'c-9', causationId: 'e-9' });
      return Promise.resolve();
    });
    expect(created?.correlationId).toBe('c-9');
    expect(created?.causationId).toBe('e-9');
  });

  it('keeps two deliveries handled at the same time apart', async () => {
    const first = OrderPlaced.create({ orderId: 'o-1' });
    const second = OrderPlaced.create({ orderId: 'o-2' });
    const clock = contextFor(first).clock;
    const created = new Map<string, Event>();
    const handle = (incoming: Event, waitMs: number) => {
      const { ctx } = contextFor(incoming, { decoded: true, clock });
      return correlation()(ctx, async () => {
        await ctx.clock.sleep(waitMs);
        created.set(incoming.id, request());
      });
    };
    const runs = Promise.all([handle(first, 20), handle(second, 10)]);
    await clock.advance(20);
    await runs;
    expect(created.get(first.id)?.causationId).toBe(first.id);
    expect(created.get(second.id)?.causationId).toBe(second.id);
  });

  it('leaves events created after the run uncorrelated', async () => {
    const { ctx } = contextFor(OrderPlaced.create({ orderId: 'o-1' }), { decoded: true });
    await correlation()(ctx, () => Promise.resolve());
    const later = request();
    expect(later.correlationId).toBe(later.id);
    expect(later.causationId).toBeUndefined();
  });

  it('just calls next when the context has no event, creating root events', async () => {
    const { ctx } = contextFor(OrderPlaced.create({ orderId: 'o-1' }));
    let calls = 0;
    let created: Event | undefined;
    await correlation()(ctx, () => {
      calls += 1;
      created = request();
      return Promise.resolve();
    });
    expect(calls).toBe(1);
    expect(created?.correlationId).toBe(created?.id);
    expect(created?.causationId).toBeUndefined();
  });

  it('passes an error from next through', async () => {
    const { ctx } = contextFor(OrderPlaced.create({ orderId: 'o-1' }), { decoded: true });
    const failure = new Error('handler failed');
    await expect(correlation()(ctx, () => Promise.reject(failure))).rejects.toBe(failure);
  });
});
