import type { Labels, Metrics } from '../metrics.ts';
import type { Middleware, MiddlewareContext } from './types.ts';

/** The label sets of one group and type, made once and reused by every delivery. */
interface TypeLabels {
  readonly duration: Labels;
  readonly outcomes: Map<string, Labels>;
}

/** The label sets of one group. */
interface GroupLabels {
  readonly group: Labels;
  readonly types: Map<string, TypeLabels>;
}

/**
 * The bookkeeping of {@link measure}, shared with the bus's built-in pipeline: `begin` when a delivery
 * starts, `end` with its outcome once it is decided.
 * @internal
 */
export interface Meter {
  /** Counts the delivery in flight; returns its start, for `end`. */
  begin(group: string): number;
  /** Counts the delivery out: its duration and its outcome (`ack`, an outcome kind, or `error`). */
  end(ctx: MiddlewareContext, outcome: string, started: number): void;
}

/** Creates the {@link Meter} of `metrics`. @internal */
export function createMeter(metrics: Metrics): Meter {
  // Label sets are few (groups × types × outcomes) and reused, so a delivery allocates none.
  const groups = new Map<string, GroupLabels>();
  const labelsOf = (group: string): GroupLabels => {
    let found = groups.get(group);
    if (found === undefined) {
      found = { group: { group }, types: new Map() };
      groups.set(group, found);
    }
    return found;
  };
  return {
    begin(group) {
      metrics.adjust('tidings_in_flight', labelsOf(group).group, 1);
      return performance.now();
    },
    end(ctx, outcome, started) {
      const group = labelsOf(ctx.group);
      metrics.adjust('tidings_in_flight', group.group, -1);
      const type = ctx.event?.type ?? ctx.message.topic;
      let labels = group.types.get(type);
      if (labels === undefined) {
        labels = { duration: { group: ctx.group, type }, outcomes: new Map() };
        group.types.set(type, labels);
      }
      metrics.observe(
        'tidings_handler_duration_seconds',
        labels.duration,
        (performance.now() - started) / 1000,
      );
      let counted = labels.outcomes.get(outcome);
      if (counted === undefined) {
        counted = { group: ctx.group, type, outcome };
        labels.outcomes.set(outcome, counted);
      }
      metrics.increment('tidings_handled_total', counted);
    },
  };
}

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
  const meter = createMeter(metrics);
  return async function measure(ctx, next) {
    const started = meter.begin(ctx.group);
    try {
      await next();
    } catch (error) {
      meter.end(ctx, 'error', started);
      throw error;
    }
    meter.end(ctx, ctx.outcome?.kind ?? 'ack', started);
  };
}
