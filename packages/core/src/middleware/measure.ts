import type { Labels, Metrics } from '../metrics.ts';
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
  // Label sets are few (groups × types × outcomes) and reused, so a delivery allocates none.
  const labels = new Map<string, Labels>();
  const labelsFor = (group: string, type: string, outcome?: string): Labels => {
    const key = `${group}\u0000${type}\u0000${outcome ?? '\u0001'}`;
    let found = labels.get(key);
    if (found === undefined) {
      found = outcome === undefined ? { group, type } : { group, type, outcome };
      labels.set(key, found);
    }
    return found;
  };
  const groups = new Map<string, Labels>();
  const groupLabels = (group: string): Labels => {
    let found = groups.get(group);
    if (found === undefined) {
      found = { group };
      groups.set(group, found);
    }
    return found;
  };
  return async function measure(ctx, next) {
    const group = groupLabels(ctx.group);
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
        labelsFor(ctx.group, type),
        (performance.now() - started) / 1000,
      );
      metrics.increment('tidings_handled_total', labelsFor(ctx.group, type, outcome));
    }
  };
}
