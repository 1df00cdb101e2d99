import { EventEmitter as NodeEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEmitter } from '@tidings/core';
import Emittery from 'emittery';
import { EventEmitter as EventEmitter3 } from 'eventemitter3';
import mittModule from 'mitt';
import { Bench } from 'tinybench';

/** One comparison of the emitter benchmark, in the shape of `bench/results/emitter.json`. */
export interface EmitterCase {
  readonly name: string;
  readonly tidings_ops_s: number;
  readonly peer: string;
  readonly peer_ops_s: number;
  /** tidings ÷ peer: above 1, Tidings emits faster. */
  readonly ratio: number;
}

// mitt ships ESM whose declarations TypeScript reads as CommonJS: the default export is the function at
// run time, while its types see it one level down.
const mitt = typeof mittModule === 'function' ? mittModule : mittModule.default;

interface Payload {
  readonly n: number;
  readonly id?: string;
  readonly correlationId?: string;
}
type Events = { tick: Payload };

// Each timed iteration emits a batch, so tinybench's own per-iteration cost (two clock reads, and for async
// tasks one more await) does not drown a few nanoseconds of emitting; every peer gets the same batch.
const SYNC_BATCH = 1_000;
const ASYNC_BATCH = 100;
const TIME_MS = 400;
const WARMUP_MS = 100;
// Each case runs this many times, its contenders in a rotated order each time, and keeps each one's median:
// the first task of a run measures faster than later ones, and garbage left by one peer slows the next.
const ROUNDS = 3;

// A full collection before each task, so that none pays for the garbage of the one before.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

// Listeners add to a sink that is printed at the end, so no emit can be optimised away. It wraps below 2^28
// to stay a small integer: a sum grown past that would be boxed, and every listener call would allocate.
let sink = 0;
const syncListeners = (count: number): ((payload: Payload) => void)[] =>
  Array.from({ length: count }, () => (payload: Payload) => {
    sink = (sink + payload.n) & 0xfffffff;
  });
// An async function with nothing to await: the case measures the emitters, not the listener's work.
// eslint-disable-next-line @typescript-eslint/require-await
const asyncListener = async (payload: Payload): Promise<void> => {
  sink = (sink + payload.n) & 0xfffffff;
};

/** The same work for every emitter: `count` listeners that read the payload, then `SYNC_BATCH` emits. */
function syncContenders(count: number, payload: Payload): Record<string, () => void> {
  const tidings = createEmitter<Events>();
  const node = new NodeEmitter();
  const ee3 = new EventEmitter3<Events>();
  const mittEmitter = mitt<Events>();
  for (const listener of syncListeners(count)) tidings.on('tick', listener);
  for (const listener of syncListeners(count)) node.on('tick', listener);
  for (const listener of syncListeners(count)) ee3.on('tick', listener);
  for (const listener of syncListeners(count)) mittEmitter.on('tick', listener);
  return {
    tidings: () => {
      for (let i = 0; i < SYNC_BATCH; i += 1) tidings.emit('tick', payload);
    },
    'node:events': () => {
      for (let i = 0; i < SYNC_BATCH; i += 1) node.emit('tick', payload);
    },
    eventemitter3: () => {
      for (let i = 0; i < SYNC_BATCH; i += 1) ee3.emit('tick', payload);
    },
    mitt: () => {
      for (let i = 0; i < SYNC_BATCH; i += 1) mittEmitter.emit('tick', payload);
    },
  };
}

/** One async listener, and an emit that waits for it: Tidings' `emitAsync` against Emittery's `emit`. */
function asyncContenders(): Record<string, () => Promise<void>> {
  const payload: Payload = { n: 1 };
  const tidings = createEmitter<Events>();
  const emittery = new Emittery<Events>();
  tidings.on('tick', asyncListener);
  emittery.on('tick', asyncListener);
  return {
    tidings: async () => {
      for (let i = 0; i < ASYNC_BATCH; i += 1) await tidings.emitAsync('tick', payload);
    },
    emittery: async () => {
      for (let i = 0; i < ASYNC_BATCH; i += 1) await emittery.emit('tick', payload);
    },
  };
}

/** Runs every contender of one case and returns each one's emits per second (median of the rounds). */
async function measure(
  name: string,
  batch: number,
  contenders: Record<string, () => unknown>,
): Promise<Map<string, number>> {
  const names = Object.keys(contenders);
  const rounds = new Map<string, number[]>(names.map((contender) => [contender, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    const bench = new Bench({
      name,
      time: TIME_MS,
      warmupTime: WARMUP_MS,
      throws: true,
      setup: collectGarbage,
    });
    const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
    for (const contender of order) bench.add(contender, contenders[contender] as () => unknown);
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (!('period' in result)) throw new Error(`${name} / ${task.name} did not complete (${result.state})`);
      rounds.get(task.name)?.push((batch * 1000) / result.period);
    }
  }
  const median = (values: number[]): number =>
    values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  return new Map([...rounds].map(([contender, values]) => [contender, median(values)]));
}

const TARGETS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'sync, 1 listener': { eventemitter3: 1 },
  'sync, 10 listeners': { 'node:events': 1 },
  'async, 1 listener awaited': { emittery: 10 },
};

/** Emits per second of Tidings' emitter beside node:events, eventemitter3, mitt and emittery. */
export async function benchEmitter(): Promise<EmitterCase[]> {
  const plan: [string, number, Record<string, () => unknown>][] = [
    ['sync, 1 listener', SYNC_BATCH, syncContenders(1, { n: 1 })],
    ['sync, 10 listeners', SYNC_BATCH, syncContenders(10, { n: 1 })],
    // Tidings recognises an event (a string id and correlationId) and makes it the cause of the events its
    // listeners create; the peers do no such thing, so this case shows what correlation costs.
    [
      'sync, 1 listener, event payload',
      SYNC_BATCH,
      syncContenders(1, { n: 1, id: 'e-1', correlationId: 'e-1' }),
    ],
    ['async, 1 listener awaited', ASYNC_BATCH, asyncContenders()],
  ];
  const cases: EmitterCase[] = [];
  for (const [name, batch, contenders] of plan) {
    const ops = await measure(name, batch, contenders);
    const tidings = ops.get('tidings') ?? Number.NaN;
    for (const [peer, peerOps] of ops) {
      if (peer === 'tidings') continue;
      const round = (value: number): number => Math.round(value);
      cases.push({
        name,
        tidings_ops_s: round(tidings),
        peer,
        peer_ops_s: round(peerOps),
        ratio: Math.round((tidings / peerOps) * 100) / 100,
      });
    }
  }
  console.table(
    cases.map((row) => {
      const target = TARGETS[row.name]?.[row.peer];
      return {
        case: row.name,
        peer: row.peer,
        'tidings ops/s': row.tidings_ops_s.toLocaleString('en'),
        'peer ops/s': row.peer_ops_s.toLocaleString('en'),
        ratio: `${row.ratio.toFixed(2)}×`,
        target: target === undefined ? '' : `≥ ${target}× ${row.ratio >= target ? 'met' : 'MISSED'}`,
      };
    }),
  );
  console.log(`(sink ${sink}: the listeners really ran)`);
  return cases;
}
