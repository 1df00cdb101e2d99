/** Label values of one metric series. */
export type Labels = Readonly<Record<string, string>>;

/**
 * The small metrics interface the bus reports to; `createMetrics()` keeps figures in memory, and the
 * Prometheus adapter maps the same calls onto prom-client.
 */
export interface Metrics {
  /** Adds `value` (default 1) to a counter. */
  increment(name: string, labels: Labels, value?: number): void;
  /** Records one observation (durations in seconds) in a histogram. */
  observe(name: string, labels: Labels, value: number): void;
  /** Moves a gauge up or down by `delta`. */
  adjust(name: string, labels: Labels, delta: number): void;
}

/** One series in a metrics snapshot. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Labels;
  readonly kind: 'counter' | 'gauge' | 'histogram';
  /** Counter or gauge value; for a histogram, the number of observations. */
  readonly value: number;
  /** For a histogram, the sum of observations. */
  readonly sum?: number;
}

/** Metrics kept in memory, readable with `snapshot()` and `value()`. */
export interface MemoryMetrics extends Metrics {
  snapshot(): readonly MetricSample[];
  /** The current value of one series (0 when it was never touched). */
  value(name: string, labels?: Labels): number;
}

/** Metrics that go nowhere. */
export const noopMetrics: Metrics = { increment() {}, observe() {}, adjust() {} };

/**
 * Creates an in-memory metrics recorder.
 *
 * @example
 * const metrics = createMetrics();
 * const bus = createBus({ catalog, transport, metrics });
 * metrics.value('tidings_handled_total', { group: 'billing', type: 'OrderPlaced', outcome: 'ack' });
 */
export function createMetrics(): MemoryMetrics {
  const series = new Map<
    string,
    { name: string; labels: Labels; kind: MetricSample['kind']; value: number; sum: number }
  >();
  const entry = (name: string, labels: Labels, kind: MetricSample['kind']) => {
    const key = seriesKey(name, labels);
    let found = series.get(key);
    if (found === undefined) {
      found = { name, labels: { ...labels }, kind, value: 0, sum: 0 };
      series.set(key, found);
    }
    return found;
  };
  return {
    increment(name, labels, value = 1) {
      entry(name, labels, 'counter').value += value;
    },
    observe(name, labels, value) {
      const found = entry(name, labels, 'histogram');
      found.value += 1;
      found.sum += value;
    },
    adjust(name, labels, delta) {
      entry(name, labels, 'gauge').value += delta;
    },
    snapshot: () =>
      [...series.values()].map(({ name, labels, kind, value, sum }) =>
        kind === 'histogram' ? { name, labels, kind, value, sum } : { name, labels, kind, value },
      ),
    value: (name, labels = {}) => series.get(seriesKey(name, labels))?.value ?? 0,
  };
}

function seriesKey(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key] ?? ''}`);
  return `${name}{${parts.join(',')}}`;
}
