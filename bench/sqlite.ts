import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, createCatalog, defineEvent, type Event, type EventOf } from '@tidings/core';
import { sqliteTransport } from '@tidings/sqlite';
import Database from 'better-sqlite3';
import { z } from 'zod';

/** One comparison of the SQLite benchmark, in the shape of `bench/results/sqlite.json`. */
export interface SqliteCase {
  readonly name: string;
  readonly unit: string;
  readonly tidings: number;
  readonly peer: string;
  readonly peer_value: number;
  /** Above 1, Tidings is better (throughput: tidings ÷ peer; latency: peer ÷ tidings). */
  readonly ratio: number;
  readonly target?: string;
}

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), customerId: z.string(), total: z.number(), currency: z.string() }),
});
const catalog = createCatalog({ events: [OrderPlaced] });

const BATCH = 1_000;
const BATCHES = 100;
const SINGLES = 5_000;
const CONSUME = 50_000;
// Each case runs once on a tenth of its events before the measured run, so that both sides are
// measured with their code optimised, not while the JIT is still compiling it.
const WARM_UP = 0.1;
const LATENCY_EVENTS = 2_000;
const LATENCY_RATE = 1_000;

const makeEvents = (count: number, offset = 0): EventOf<typeof OrderPlaced>[] =>
  Array.from({ length: count }, (_, i) =>
    OrderPlaced.create(
      {
        orderId: `o-${offset + i}`,
        customerId: `c-${(offset + i) % 97}`,
        total: (offset + i) % 500,
        currency: 'EUR',
      },
      { subject: `o-${offset + i}` },
    ),
  );

function scratch(name: string): { file: string; cleanUp: () => void } {
  const file = join(tmpdir(), `tidings-bench-${name}-${process.pid}.db`);
  const cleanUp = (): void => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  };
  cleanUp();
  return { file, cleanUp };
}

// The peer: better-sqlite3 on its own, storing the same events with the same durability settings.
function rawDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, type TEXT NOT NULL, subject TEXT, headers TEXT NOT NULL, body BLOB NOT NULL)',
  );
  return db;
}

const rawRow = (event: Event) => ({
  id: event.id,
  type: event.type,
  subject: event.subject ?? null,
  headers: JSON.stringify({
    source: event.source,
    time: event.time,
    correlationId: event.correlationId,
    version: event.version,
  }),
  body: Buffer.from(JSON.stringify(event.data)),
});

const perSecond = (count: number, ms: number): number => Math.round((count / ms) * 1000);

async function publishBatched(scale = 1): Promise<[number, number]> {
  const events = makeEvents(BATCH * Math.max(1, Math.round(BATCHES * scale)));
  const ours = scratch('pub-batch');
  const bus = createBus({ catalog, transport: sqliteTransport({ file: ours.file }) });
  // One registered group, so that every publish also writes its delivery row, as in production.
  await (await bus.subscribe({ group: 'g', handlers: { OrderPlaced: () => undefined } })).close();
  let started = performance.now();
  for (let b = 0; b < events.length; b += BATCH) await bus.publish(events.slice(b, b + BATCH));
  const tidings = perSecond(events.length, performance.now() - started);
  await bus.close();
  ours.cleanUp();

  const theirs = scratch('raw-batch');
  const db = rawDatabase(theirs.file);
  const insert = db.prepare(
    'INSERT INTO events (id, type, subject, headers, body) VALUES (@id, @type, @subject, @headers, @body)',
  );
  const insertMany = db.transaction((batch: Event[]) => {
    for (const event of batch) insert.run(rawRow(event));
  });
  started = performance.now();
  for (let b = 0; b < events.length; b += BATCH) insertMany(events.slice(b, b + BATCH));
  const raw = perSecond(events.length, performance.now() - started);
  db.close();
  theirs.cleanUp();
  return [tidings, raw];
}

async function publishSingle(scale = 1): Promise<[number, number]> {
  const events = makeEvents(Math.round(SINGLES * scale));
  const ours = scratch('pub-single');
  const bus = createBus({ catalog, transport: sqliteTransport({ file: ours.file }) });
  await (await bus.subscribe({ group: 'g', handlers: { OrderPlaced: () => undefined } })).close();
  let started = performance.now();
  for (const event of events) await bus.publish(event);
  const tidings = perSecond(events.length, performance.now() - started);
  await bus.close();
  ours.cleanUp();

  const theirs = scratch('raw-single');
  const db = rawDatabase(theirs.file);
  const insert = db.prepare(
    'INSERT INTO events (id, type, subject, headers, body) VALUES (@id, @type, @subject, @headers, @body)',
  );
  const insertOne = db.transaction((event: Event) => insert.run(rawRow(event)));
  started = performance.now();
  for (const event of events) insertOne(event);
  const raw = perSecond(events.length, performance.now() - started);
  db.close();
  theirs.cleanUp();
  return [tidings, raw];
}

async function consume(scale = 1): Promise<[number, number]> {
  const total = Math.round(CONSUME * scale);
  const events = makeEvents(total);
  const ours = scratch('consume');
  const bus = createBus({ catalog, transport: sqliteTransport({ file: ours.file }) });
  await (await bus.subscribe({ group: 'g', handlers: { OrderPlaced: () => undefined } })).close();
  for (let b = 0; b < total; b += BATCH) await bus.publish(events.slice(b, b + BATCH));
  let handled = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  let started = performance.now();
  await bus.subscribe({
    group: 'g',
    concurrency: 256,
    handlers: {
      OrderPlaced: () => {
        handled += 1;
        if (handled === total) done();
      },
    },
  });
  await finished;
  const tidings = perSecond(total, performance.now() - started);
  await bus.close();
  ours.cleanUp();

  // The peer claims a batch, "handles" it and deletes it (the ack), one transaction per batch.
  const theirs = scratch('raw-consume');
  const db = rawDatabase(theirs.file);
  const insert = db.prepare(
    'INSERT INTO events (id, type, subject, headers, body) VALUES (@id, @type, @subject, @headers, @body)',
  );
  db.transaction(() => {
    for (const event of events) insert.run(rawRow(event));
  })();
  const claim = db.prepare('SELECT seq, id, type, subject, headers, body FROM events ORDER BY seq LIMIT 256');
  const ack = db.prepare('DELETE FROM events WHERE seq = ?');
  let seen = 0;
  started = performance.now();
  for (;;) {
    const rows = claim.all() as { seq: number; headers: string; body: Buffer }[];
    if (rows.length === 0) break;
    for (const row of rows) {
      JSON.parse(row.headers);
      JSON.parse(row.body.toString());
      seen += 1;
    }
    db.transaction(() => {
      for (const row of rows) ack.run(row.seq);
    })();
  }
  const raw = perSecond(seen, performance.now() - started);
  db.close();
  theirs.cleanUp();
  return [tidings, raw];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function latency(): Promise<{ tidings: [number, number]; raw: [number, number] }> {
  const events = makeEvents(LATENCY_EVENTS);
  const ours = scratch('latency');
  const bus = createBus({ catalog, transport: sqliteTransport({ file: ours.file }) });
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  await bus.subscribe({
    group: 'g',
    concurrency: 16,
    handlers: {
      OrderPlaced: (event) => {
        samples.push(performance.now() - (sentAt.get(event.id) ?? Number.NaN));
        if (samples.length === LATENCY_EVENTS) done();
      },
    },
  });
  // A steady 1 000 events a second: each publish waits for its slot in the schedule.
  const interval = 1000 / LATENCY_RATE;
  const start = performance.now();
  for (const [i, event] of events.entries()) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0.5) await new Promise((resolve) => setTimeout(resolve, wait));
    sentAt.set(event.id, performance.now());
    await bus.publish(event);
  }
  await finished;
  await bus.close();
  ours.cleanUp();
  samples.sort((a, b) => a - b);

  // The peer: commit the row, then read and delete it in a second transaction, as a consumer would.
  const theirs = scratch('raw-latency');
  const db = rawDatabase(theirs.file);
  const insert = db.prepare(
    'INSERT INTO events (id, type, subject, headers, body) VALUES (@id, @type, @subject, @headers, @body)',
  );
  const read = db.prepare('SELECT seq, headers, body FROM events ORDER BY seq LIMIT 1');
  const remove = db.prepare('DELETE FROM events WHERE seq = ?');
  const rawSamples: number[] = [];
  for (const event of events) {
    const sent = performance.now();
    db.transaction(() => insert.run(rawRow(event)))();
    db.transaction(() => {
      const row = read.get() as { seq: number; body: Buffer };
      JSON.parse(row.body.toString());
      remove.run(row.seq);
    })();
    rawSamples.push(performance.now() - sent);
  }
  db.close();
  theirs.cleanUp();
  rawSamples.sort((a, b) => a - b);
  return {
    tidings: [percentile(samples, 50), percentile(samples, 99)],
    raw: [percentile(rawSamples, 50), percentile(rawSamples, 99)],
  };
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** Tidings on SQLite beside better-sqlite3 doing the same durable work, in one process run. */
export async function benchSqlite(): Promise<readonly SqliteCase[]> {
  await publishBatched(WARM_UP);
  const [batchOurs, batchRaw] = await publishBatched();
  await publishSingle(WARM_UP);
  const [singleOurs, singleRaw] = await publishSingle();
  await consume(WARM_UP);
  const [consumeOurs, consumeRaw] = await consume();
  const lat = await latency();
  const peer = 'better-sqlite3 (raw, WAL, synchronous=NORMAL)';
  const cases: SqliteCase[] = [
    {
      name: `publish, batches of ${BATCH}`,
      unit: 'events/s',
      tidings: batchOurs,
      peer,
      peer_value: batchRaw,
      ratio: round(batchOurs / batchRaw),
      target: '≥ 0.5',
    },
    {
      name: 'publish, one per transaction',
      unit: 'events/s',
      tidings: singleOurs,
      peer,
      peer_value: singleRaw,
      ratio: round(singleOurs / singleRaw),
      target: '≥ 0.8',
    },
    {
      name: 'consume with ack',
      unit: 'events/s',
      tidings: consumeOurs,
      peer,
      peer_value: consumeRaw,
      ratio: round(consumeOurs / consumeRaw),
      target: '≥ 50 000 events/s',
    },
    {
      name: 'publish→handler latency p50 at 1k/s',
      unit: 'ms',
      tidings: round(lat.tidings[0], 3),
      peer,
      peer_value: round(lat.raw[0], 3),
      ratio: round(lat.raw[0] / lat.tidings[0]),
    },
    {
      name: 'publish→handler latency p99 at 1k/s',
      unit: 'ms',
      tidings: round(lat.tidings[1], 3),
      peer,
      peer_value: round(lat.raw[1], 3),
      ratio: round(lat.raw[1] / lat.tidings[1]),
      target: '≤ 5 ms',
    },
  ];
  console.table(
    cases.map(({ name, unit, tidings, peer_value, ratio, target }) => ({
      case: name,
      unit,
      tidings,
      raw: peer_value,
      ratio,
      target: target ?? '',
    })),
  );
  return cases;
}
