import { cpus, loadavg, totalmem } from 'node:os';
import { BROKERS, type Broker, type TidingsSide, URLS } from './transports/brokers.ts';
import { COUNTS, makeMessages, perSecond, type ROUNDS, streamName, WARM_UP } from './transports/common.ts';
import { rawConsume, rawLatency, rawPublish } from './transports/raw-cases.ts';
import type { RawClient } from './transports/raw.ts';
import {
  tidingsConsumeBare,
  tidingsConsumeBus,
  tidingsLatency,
  tidingsPublish,
} from './transports/tidings.ts';

/** One comparison of the transports benchmark, in the shape of `bench/results/transports.json`. */
export interface TransportCase {
  readonly broker: string;
  readonly name: string;
  readonly unit: 'messages/s' | 'jobs/s' | 'ms';
  /** Null when the Tidings side could not run; `note` says why. */
  readonly tidings: number | null;
  readonly peer: string;
  readonly peer_value: number | null;
  /** Above 1, Tidings is better (throughput: tidings ÷ peer; latency: peer ÷ tidings). */
  readonly ratio: number | null;
  /** The issue's target, on `ratio`'s scale. */
  readonly target?: { readonly ratio: number; readonly text: string; readonly met: boolean | null };
  readonly note?: string;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A measured pair: each side's value, or the reason it has none. */
type Side = number | { readonly failed: string };
const value = (side: Side): number | null => (typeof side === 'number' ? side : null);

/** Messages per second over two timed halves, or the first failure of either. */
function combined(count: number, first: Side, second: Side): Side {
  if (typeof first !== 'number') return first;
  if (typeof second !== 'number') return second;
  return perSecond(count, first + second);
}

async function attempt(run: () => Promise<number>): Promise<Side> {
  try {
    return await run();
  } catch (error) {
    return { failed: errorText(error) };
  }
}

interface Targets {
  readonly throughput: number;
  readonly latencyP99: number;
  readonly vsBullmq: number;
}
const TARGETS: Targets = { throughput: 0.8, latencyP99: 1 / 1.5, vsBullmq: 3 };

function makeCase(
  broker: string,
  name: string,
  unit: TransportCase['unit'],
  peer: string,
  [ours, theirs]: [Side, Side],
  higherIsBetter: boolean,
  target?: { ratio: number; text: string },
): TransportCase {
  const t = value(ours);
  const p = value(theirs);
  const ratio = t === null || p === null || t === 0 || p === 0 ? null : round(higherIsBetter ? t / p : p / t);
  const notes = [
    typeof ours === 'number' ? undefined : `tidings: ${ours.failed}`,
    typeof theirs === 'number' ? undefined : `peer: ${theirs.failed}`,
  ].filter((note): note is string => note !== undefined);
  return {
    broker,
    name,
    unit,
    tidings: t === null ? null : round(t, unit === 'ms' ? 3 : 0),
    peer,
    peer_value: p === null ? null : round(p, unit === 'ms' ? 3 : 0),
    ratio,
    ...(target === undefined
      ? {}
      : { target: { ...target, met: ratio === null ? null : ratio >= target.ratio } }),
    ...(notes.length === 0 ? {} : { note: notes.join('; ') }),
  };
}

/** Runs every case of one broker at `scale` of the counts; `label` keeps each round's streams apart. */
async function measureBroker(
  broker: Broker,
  raw: RawClient,
  tidings: TidingsSide | string,
  scale: number,
  label: (typeof ROUNDS)[number],
  namespace: string,
): Promise<TransportCase[]> {
  const n = (count: number): number => Math.max(1, Math.round(count * scale));
  const ours = (run: (side: TidingsSide) => Promise<number>): Promise<Side> =>
    typeof tidings === 'string'
      ? Promise.resolve({ failed: `not available yet: ${tidings}` })
      : attempt(() => run(tidings));
  const { batch, concurrency } = COUNTS;
  const cases: TransportCase[] = [];
  const add = (...args: Parameters<typeof makeCase> extends [string, ...infer R] ? R : never): void => {
    cases.push(makeCase(broker.name, ...args));
  };
  const throughputTarget = { ratio: TARGETS.throughput, text: `≥ ${TARGETS.throughput}× raw` };

  for (const [size, count, what] of [
    [batch, n(COUNTS.publishBatched), `publish, batches of ${batch}`],
    [1, n(COUNTS.publishSingle), 'publish, one at a time'],
  ] as const) {
    const stream = streamName(size === 1 ? 'pub1' : 'pub100', label);
    // In halves, raw – Tidings – Tidings – raw, so that a machine getting busier or quieter during the
    // case weighs on both sides alike.
    const half = Math.max(1, Math.round(count / 2));
    const rawHalf = (): Promise<Side> => attempt(() => rawPublish(raw, stream, makeMessages(half), size));
    const ourHalf = (): Promise<Side> =>
      ours((side) => tidingsPublish(side.create, stream, makeMessages(half), size));
    const rawFirst = await rawHalf();
    const ourFirst = await ourHalf();
    const ourSecond = await ourHalf();
    const rawSecond = await rawHalf();
    const peer = combined(2 * half, rawFirst, rawSecond);
    const tid = combined(2 * half, ourFirst, ourSecond);
    add(what, 'messages/s', raw.peer, [tid, peer], true, throughputTarget);
  }

  const consumeCount = n(COUNTS.consume);
  const peerConsume = await attempt(async () =>
    perSecond(consumeCount, await rawConsume(raw, streamName('consume', label), consumeCount, concurrency)),
  );
  const busConsume = await ours(async (side) =>
    perSecond(
      consumeCount,
      await tidingsConsumeBus(side.create, streamName('bus', label), consumeCount, concurrency),
    ),
  );
  const bareConsume = await ours(async (side) =>
    perSecond(
      consumeCount,
      await tidingsConsumeBare(side.create, streamName('bare', label), consumeCount, concurrency),
    ),
  );
  add(
    `consume + ack, bus (createBus + handler), concurrency ${concurrency}`,
    'messages/s',
    raw.peer,
    [busConsume, peerConsume],
    true,
    throughputTarget,
  );
  add(
    `consume + ack, bare transport consumer, concurrency ${concurrency}`,
    'messages/s',
    raw.peer,
    [bareConsume, peerConsume],
    true,
    throughputTarget,
  );

  const rate = broker.latency?.rate ?? COUNTS.latencyRate;
  const latencyCount = n(rate * (broker.latency?.seconds ?? COUNTS.latencySeconds));
  const peerLatency = await rawLatency(
    raw,
    streamName('latency', label),
    latencyCount,
    rate,
    concurrency,
  ).catch((error: unknown) => ({ failed: errorText(error) }));
  const busLatency =
    typeof tidings === 'string'
      ? { failed: `not available yet: ${tidings}` }
      : await tidingsLatency(
          tidings.create,
          streamName('latency', label),
          latencyCount,
          rate,
          concurrency,
        ).catch((error: unknown) => ({ failed: errorText(error) }));
  const pick = (side: [number, number] | { failed: string }, i: 0 | 1): Side =>
    'failed' in side ? side : side[i];
  add(
    `publish→handler latency p50 at ${rate}/s (bus)`,
    'ms',
    raw.peer,
    [pick(busLatency, 0), pick(peerLatency, 0)],
    false,
  );
  add(
    `publish→handler latency p99 at ${rate}/s (bus)`,
    'ms',
    raw.peer,
    [pick(busLatency, 1), pick(peerLatency, 1)],
    false,
    {
      ratio: round(TARGETS.latencyP99, 3),
      text: 'p99 ≤ 1.5× raw',
    },
  );

  const jobs = broker.jobs;
  if (jobs !== undefined) {
    const count = n(COUNTS.jobs);
    const c = COUNTS.jobConcurrency;
    const bull = await attempt(async () => perSecond(count, await jobs(`${namespace}_${label}`, count, c)));
    const group = await ours(async (side) =>
      perSecond(count, await tidingsConsumeBus(side.create, streamName('jobs', label), count, c)),
    );
    add(
      `jobs processed, concurrency ${c} (bus group vs BullMQ Worker)`,
      'jobs/s',
      'bullmq Worker (node-redis connection)',
      [group, bull],
      true,
      {
        ratio: TARGETS.vsBullmq,
        text: `≥ ${TARGETS.vsBullmq}× BullMQ`,
      },
    );
  }
  return cases;
}

function printTable(broker: string, cases: readonly TransportCase[]): void {
  console.log(`\n${broker}: Tidings beside ${cases[0]?.peer ?? 'the raw client'}`);
  console.table(
    cases.map((row) => ({
      case: row.name,
      unit: row.unit,
      tidings: row.tidings ?? '-',
      peer:
        row.peer === cases[0]?.peer
          ? (row.peer_value ?? '-')
          : `${row.peer_value ?? '-'} (${row.peer.split(' ')[0]})`,
      ratio: row.ratio === null ? '-' : `${row.ratio.toFixed(2)}×`,
      target:
        row.target === undefined
          ? ''
          : `${row.target.text}: ${row.target.met === null ? '?' : row.target.met ? 'met' : 'MISSED'}`,
    })),
  );
  // One line per distinct note: a side that could not run says so once, not on every row.
  const notes = new Map<string, string[]>();
  for (const row of cases)
    if (row.note !== undefined) notes.set(row.note, [...(notes.get(row.note) ?? []), row.name]);
  for (const [note, names] of notes)
    console.log(`  ${names.length === cases.length ? 'every case' : names.join(', ')}: ${note}`);
}

/** The URL as it may be printed: without a password. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

async function runBroker(
  broker: Broker,
  namespace: string,
): Promise<{ cases: TransportCase[]; seconds: number }> {
  const started = performance.now();
  let raw: RawClient;
  try {
    raw = await broker.raw(namespace);
  } catch (error) {
    const reason = `${broker.name} is not reachable at ${withoutPassword(URLS[broker.name])} (${errorText(error)}); start it and run again`;
    console.warn(`!!! ${reason}`);
    return {
      cases: [
        {
          broker: broker.name,
          name: 'all cases',
          unit: 'messages/s',
          tidings: null,
          peer: 'raw',
          peer_value: null,
          ratio: null,
          note: reason,
        },
      ],
      seconds: 0,
    };
  }
  const tidings = await broker.tidings(namespace);
  if (typeof tidings === 'string') console.warn(`${broker.name}: Tidings side not available yet: ${tidings}`);
  try {
    await measureBroker(broker, raw, tidings, WARM_UP, 'warm', namespace);
    const cases = await measureBroker(broker, raw, tidings, 1, 'run', namespace);
    printTable(broker.name, cases);
    return { cases, seconds: round((performance.now() - started) / 1000, 1) };
  } finally {
    await raw
      .close()
      .catch((error: unknown) => console.warn(`${broker.name}: raw clean-up failed: ${errorText(error)}`));
    if (typeof tidings !== 'string')
      await tidings
        .cleanUp()
        .catch((error: unknown) =>
          console.warn(`${broker.name}: Tidings clean-up failed: ${errorText(error)}`),
        );
  }
}

/**
 * Tidings' broker transports beside each broker's official client doing the same durable work (and,
 * on Redis, BullMQ), one broker after the other in this process; `args` may name the brokers to run.
 */
export async function benchTransports(
  args: readonly string[] = [],
): Promise<Record<string, unknown> & { cases: TransportCase[] }> {
  const unknown = args.filter((arg) => !BROKERS.some((broker) => broker.name === arg));
  if (unknown.length > 0)
    throw new Error(
      `Unknown broker ${unknown.join(', ')}; choose from ${BROKERS.map((b) => b.name).join(', ')}.`,
    );
  const chosen = args.length === 0 ? BROKERS : BROKERS.filter((broker) => args.includes(broker.name));
  // Letters, digits and '-': valid as a NATS prefix, a Redis prefix and a RabbitMQ name (PostgreSQL
  // schemas use it with '_').
  const namespace = `bench-${process.pid}-${Date.now().toString(36)}`;
  const cases: TransportCase[] = [];
  const seconds: Record<string, number> = {};
  const loadBefore = loadavg();
  const cores = cpus().length;
  if ((loadBefore[0] ?? 0) > cores)
    console.warn(
      `!!! The machine is busy (load ${round(loadBefore[0] ?? 0)} on ${cores} cores): expect noisy numbers.`,
    );
  for (const broker of chosen) {
    const result = await runBroker(broker, namespace);
    cases.push(...result.cases);
    seconds[broker.name] = result.seconds;
  }
  return {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverageBefore: loadBefore.map((load) => round(load)),
      loadAverageAfter: loadavg().map((load) => round(load)),
    },
    brokers: chosen.map((broker) => broker.name),
    secondsPerBroker: seconds,
    counts: COUNTS,
    latencyRates: Object.fromEntries(
      chosen.map((broker) => [
        broker.name,
        broker.latency ?? { rate: COUNTS.latencyRate, seconds: COUNTS.latencySeconds },
      ]),
    ),
    warmUp: `every case ran once at ${WARM_UP * 100}% of its count (own streams), results discarded, before the measured run`,
    notes: [
      'Shared machine: numbers are noisy; compare ratios, and re-run on a quiet machine before acting on them.',
      'Each side publishes fresh events of the same type and size; the raw consumers read headers and parse the JSON body too.',
      'Latency: one publish awaited at a time on a fixed schedule, consumer running in the same process.',
    ],
    cases,
  };
}
