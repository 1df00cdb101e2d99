import type { Metrics } from '../metrics.ts';
import type { Middleware } from './types.ts';

/**
 * Counts handled deliveries by outcome, times handler runs and tracks how many are in flight:
 * `tidings_handled_total{group,type,outcome}`, `tidings_handler_duration_seconds{group,type}`,
 * `tidings_in_flight{group}`.
 *
 * @example
 * const metrics = createMetrics();
 * createBus({ catalog, transport, metrics }); // measure(metrics) is on by default
 */
export function measure(metrics: Metrics): Middleware {
  return async function measure(ctx, next) {
    const group = { group: ctx.group };
    metrics.adjust('tidings_in_flight', group, 1);
    const started = performance.now();
    let outcome = 'ack';
    try {
      await next();
      outcome = ctx.outcome?.kind ?? 'ack';
    } catch (error) {
      outcome = 'error';
      throw error;
    } finally {
      metrics.adjust('tidings_in_flight', group, -1);
      const type = ctx.event?.type ?? ctx.message.topic;
      metrics.observe(
        'tidings_handler_duration_seconds',
        { group: ctx.group, type },
        (performance.now() - started) / 1000,
      );
      metrics.increment('tidings_handled_total', { group: ctx.group, type, outcome });
    }
  };
}
