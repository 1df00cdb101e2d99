import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvent } from '../define-event.ts';
import { toTransportMessage } from '../message.ts';
import { createMetrics, type MemoryMetrics } from '../metrics.ts';
import { measure } from './measure.ts';
import { contextFor } from './test-context.ts';
import type { Outcome } from './types.ts';

const OrderPlaced = defineEvent({ type: 'OrderPlaced', schema: z.object({ orderId: z.string() }) });

const labels = { group: 'billing', type: 'OrderPlaced' };

function setup() {
  const metrics = createMetrics();
  const event = OrderPlaced.create({ orderId: 'o-1' });
  const { ctx } = contextFor(event, { decoded: true, metrics, group: 'billing' });
  return { metrics, ctx, event };
}

const handledTotals = (metrics: MemoryMetrics) =>
  metrics
    .snapshot()
    .filter((sample) => sample.name === 'tidings_handled_total')
    .map((sample) => ({ outcome: sample.labels.outcome, value: sample.value }));

describe('measure', () => {
  it('counts a run that leaves no outcome as ack', async () => {
    const { metrics, ctx } = setup();
    await measure(metrics)(ctx, () => Promise.resolve());
    expect(metrics.value('tidings_handled_total', { ...labels, outcome: 'ack' })).toBe(1);
    expect(handledTotals(metrics)).toEqual([{ outcome: 'ack', value: 1 }]);
  });

  it.each<Outcome>([
    { kind: 'retry-later', delayMs: 1_000, error: new Error('busy') },
    { kind: 'dead-letter', reason: 'exhausted', error: new Error('down') },
    { kind: 'duplicate' },
    { kind: 'skipped' },
  ])('counts a run that ends with $kind under that outcome', async (outcome) => {
    const { metrics, ctx } = setup();
    await measure(metrics)(ctx, () => {
      ctx.outcome = outcome;
      return Promise.resolve();
    });
    expect(handledTotals(metrics)).toEqual([{ outcome: outcome.kind, value: 1 }]);
  });

  it('counts a run whose next throws as error and rethrows the error', async () => {
    const { metrics, ctx } = setup();
    const failure = new Error('handler failed');
    await expect(measure(metrics)(ctx, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(handledTotals(metrics)).toEqual([{ outcome: 'error', value: 1 }]);
    expect(metrics.value('tidings_in_flight', { group: 'billing' })).toBe(0);
    expect(metrics.value('tidings_handler_duration_seconds', labels)).toBe(1);
  });

  it('adds up runs of the same group, type and outcome', async () => {
    const metrics = createMetrics();
    for (let i = 0; i < 3; i += 1) {
      const { ctx } = contextFor(OrderPlaced.create({ orderId: `o-${i}` }), { decoded: true, metrics });
      await measure(metrics)(ctx, () => Promise.resolve());
    }
    expect(metrics.value('tidings_handled_total', { ...labels, outcome: 'ack' })).toBe(3);
    expect(metrics.value('tidings_handler_duration_seconds', labels)).toBe(3);
  });

  it('observes one duration per run, in seconds and not negative', async () => {
    const { metrics, ctx } = setup();
    await measure(metrics)(ctx, () => Promise.resolve());
    const duration = metrics.snapshot().find((sample) => sample.name === 'tidings_handler_duration_seconds');
    expect(duration).toMatchObject({ kind: 'histogram', labels, value: 1 });
    expect(duration?.sum).toBeGreaterThanOrEqual(0);
    expect(duration?.sum).toBeLessThan(60);
  });

  it('holds tidings_in_flight at 1 while next runs and brings it back to 0 afterwards', async () => {
    const { metrics, ctx } = setup();
    let during = -1;
    await measure(metrics)(ctx, () => {
      during = metrics.value('tidings_in_flight', { group: 'billing' });
      return Promise.resolve();
    });
    expect(during).toBe(1);
    expect(metrics.value('tidings_in_flight', { group: 'billing' })).toBe(0);
  });

  it('counts deliveries in flight at the same time', async () => {
    const metrics = createMetrics();
    const { clock } = contextFor(OrderPlaced.create({ orderId: 'o-0' }));
    const runs = [10, 20].map((waitMs) => {
      const { ctx } = contextFor(OrderPlaced.create({ orderId: `o-${waitMs}` }), {
        decoded: true,
        metrics,
        clock,
      });
      return measure(metrics)(ctx, () => ctx.clock.sleep(waitMs));
    });
    await clock.advance(0);
    expect(metrics.value('tidings_in_flight', { group: 'billing' })).toBe(2);
    await clock.advance(10);
    expect(metrics.value('tidings_in_flight', { group: 'billing' })).toBe(1);
    await clock.advance(10);
    await Promise.all(runs);
    expect(metrics.value('tidings_in_flight', { group: 'billing' })).toBe(0);
  });

  it('labels by the event type that validate sets inside next', async () => {
    const metrics = createMetrics();
    const event = OrderPlaced.create({ orderId: 'o-1' });
    const { ctx } = contextFor(event, { metrics });
    await measure(metrics)(ctx, () => {
      ctx.event = event;
      return Promise.resolve();
    });
    expect(metrics.value('tidings_handled_total', { ...labels, outcome: 'ack' })).toBe(1);
  });

  it('labels by the message topic when no event was decoded', async () => {
    const metrics = createMetrics();
    const event = OrderPlaced.create({ orderId: 'o-1' });
    const message = { ...toTransportMessage(event), topic: 'Garbled' };
    const { ctx } = contextFor(event, { metrics, message });
    await measure(metrics)(ctx, () => {
      ctx.outcome = { kind: 'dead-letter', reason: 'invalid', error: new Error('bad') };
      return Promise.resolve();
    });
    const garbled = { group: 'billing', type: 'Garbled' };
    expect(metrics.value('tidings_handled_total', { ...garbled, outcome: 'dead-letter' })).toBe(1);
    expect(metrics.value('tidings_handler_duration_seconds', garbled)).toBe(1);
  });

  it('leaves the outcome as next set it', async () => {
    const { metrics, ctx } = setup();
    const outcome: Outcome = { kind: 'duplicate' };
    await measure(metrics)(ctx, () => {
      ctx.outcome = outcome;
      return Promise.resolve();
    });
    expect(ctx.outcome).toBe(outcome);
  });
});
