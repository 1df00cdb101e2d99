import { cpus } from 'node:os';
import { scaled, scratchFile, type Sizes } from './event-store/common.ts';
import { EMMETT_POSTGRES, emmettPostgres } from './event-store/emmett-postgres.ts';
import {
  EMMETT_SQLITE,
  emmettSqlite,
  emmettSqliteBusyRetries,
  emmettSqliteSynchronous,
} from './event-store/emmett-sqlite.ts';
import { checkpoint, freshDatabase, POSTGRES_URL } from './event-store/postgres-database.ts';
import { type RawFloor, rawPostgresFloor, rawSqliteFloor } from './event-store/raw-floor.ts';
import { grouped, type OpenedSide, runAppends, runPair, type SideRates } from './event-store/run-side.ts';
import { tidingsPostgres, tidingsSqlite } from './event-store/tidings.ts';

type DatabaseName = 'sqlite' | 'postgres';

/** One comparison of the event-store benchmark, in the shape of `bench/results/event-store.json`. */
export interface EventStoreCase {
  readonly database: DatabaseName;
  readonly name: string;
  readonly unit: 'events/s';
  readonly tidings: number;
  readonly peer: string;
  readonly peer_value: number;
  /** tidings ÷ peer: above 1, Tidings is faster. */
  readonly ratio: number;
  readonly target?: { readonly text: string; readonly met: boolean };
  readonly note?: string;
}

/** What `bench/results/event-store.json` holds: the cases and the facts of the run they came from. */
export interface EventStoreReport {
  readonly quick: boolean;
  readonly sizes: Sizes;
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly peers: Readonly<Partial<Record<DatabaseName, string>>>;
  readonly floors: readonly (RawFloor & { readonly database: DatabaseName })[];
  readonly notes: readonly string[];
  readonly cases: readonly EventStoreCase[];
}

/** The report while the databases fill it in. */
type Mutable = {
  cases: EventStoreCase[];
  peers: Partial<Record<DatabaseName, string>>;
  floors: (RawFloor & { database: DatabaseName })[];
  notes: string[];
};

const USAGE = 'npm run bench -- event-store [sqlite|postgres] [--quick]';

function parseArgs(args: readonly string[]): { quick: boolean; databases: DatabaseName[] } {
  const unknown = args.filter((arg) => !['--quick', 'sqlite', 'postgres'].includes(arg));
  if (unknown.length > 0) {
    throw new Error(`event-store: unknown argument(s) ${unknown.join(', ')}; usage: ${USAGE}`);
  }
  const named = (['sqlite', 'postgres'] as const).filter((name) => args.includes(name));
  return {
    quick: args.includes('--quick'),
    databases: named.length === 0 ? ['sqlite', 'postgres'] : [...named],
  };
}

const round = (value: number): number => Number(value.toFixed(2));

/** The rows of one database from both sides' rates, with the issue's targets. */
function casesOf(
  database: DatabaseName,
  sizes: Sizes,
  ours: SideRates,
  theirs: SideRates,
  peers: { readonly store: string; readonly log: string; readonly rebuild: string },
): EventStoreCase[] {
  const appendTarget = database === 'sqlite' ? 5 : 2;
  const row = (
    name: string,
    key: keyof SideRates,
    peer: string,
    target?: { text: string; met: (tidings: number, ratio: number) => boolean },
  ): EventStoreCase => {
    const ratio = round(ours[key] / theirs[key]);
    return {
      database,
      name,
      unit: 'events/s',
      tidings: ours[key],
      peer,
      peer_value: theirs[key],
      ratio,
      ...(target === undefined ? {} : { target: { text: target.text, met: target.met(ours[key], ratio) } }),
    };
  };
  const ratioAtLeast = (times: number) => ({
    text: `≥ ${times}× Emmett`,
    met: (_: number, r: number) => r >= times,
  });
  const { streams, perStream, singles, readRepeats, readAll, rebuild, page } = sizes;
  return [
    row(
      `append: ${grouped(streams)} new streams × ${perStream} events`,
      'appendStreams',
      peers.store,
      ratioAtLeast(appendTarget),
    ),
    row(
      `append: ${grouped(singles)} single events to one stream`,
      'appendSingles',
      peers.store,
      ratioAtLeast(appendTarget),
    ),
    row(
      `readStream: a ${grouped(singles)}-event stream (median of ${readRepeats})`,
      'readStream',
      peers.store,
      ratioAtLeast(3),
    ),
    row(
      `global log: ${grouped(readAll)} events, pages of ${page} (twice)`,
      'readAll',
      peers.log,
      ratioAtLeast(3),
    ),
    row(
      `projection rebuild: ${grouped(rebuild)} events`,
      'rebuild',
      peers.rebuild,
      database === 'sqlite'
        ? { text: '≥ 100 000 events/s', met: (tidings) => tidings >= 100_000 }
        : undefined,
    ),
  ];
}

function printTable(database: DatabaseName, cases: readonly EventStoreCase[]): void {
  console.log(`\n${database}: Tidings beside Emmett (events/s; ratio = Tidings ÷ Emmett)`);
  console.table(
    cases.map((c) => ({
      case: c.name,
      tidings: grouped(c.tidings),
      emmett: grouped(c.peer_value),
      ratio: `${c.ratio.toFixed(2)}×`,
      target: c.target === undefined ? '' : `${c.target.text}: ${c.target.met ? 'met' : 'MISSED'}`,
    })),
  );
}

/** Runs the warm-up (a tenth of the sizes, on throwaway data), then the measured run, of both sides in turns. */
async function measure(
  database: DatabaseName,
  sizes: Sizes,
  warm: Sizes,
  sides: { readonly tidings: () => Promise<OpenedSide>; readonly emmett: () => Promise<OpenedSide> },
): Promise<{ tidings: SideRates; emmett: SideRates }> {
  console.log(`\n${database}: warm-up on a tenth of the sizes, then the measured run`);
  await runPair(sides, warm, undefined);
  return runPair(sides, sizes, (line) => console.log(`  ${database} · ${line}`));
}

const sqliteSide = (name: string, open: (file: string) => OpenedSide['side']) => (): Promise<OpenedSide> => {
  const { file, cleanUp } = scratchFile(name);
  return Promise.resolve({ side: open(file), cleanUp });
};

const postgresSide =
  (name: string, open: (url: string) => OpenedSide['side']) => async (): Promise<OpenedSide> => {
    const database = await freshDatabase(`${name}_${process.pid}`);
    await checkpoint();
    return { side: open(database.url), cleanUp: () => database.drop() };
  };

async function benchSqlite(sizes: Sizes, warm: Sizes, report: Mutable): Promise<void> {
  // The floor first, before either side has loaded the disk.
  for (const synchronous of ['NORMAL', 'FULL'] as const) {
    report.floors.push({ database: 'sqlite', ...(await rawSqliteFloor(sizes.singles, synchronous)) });
  }
  const { tidings, emmett } = await measure('sqlite', sizes, warm, {
    tidings: sqliteSide('tidings', (file) => tidingsSqlite(file)),
    emmett: sqliteSide('emmett', (file) => emmettSqlite(file)),
  });
  // Emmett's connections keep SQLite's own synchronous=FULL (an fsync per commit); Tidings' default is NORMAL.
  const probe = scratchFile('probe');
  const emmettSync = await emmettSqliteSynchronous(probe.file);
  await probe.cleanUp();
  console.log(`  sqlite · tidings at synchronous=FULL (Emmett's connections run at ${emmettSync}):`);
  await runAppends(
    sqliteSide('tidings-full', (file) => tidingsSqlite(file, 'FULL')),
    warm,
    undefined,
  );
  const full = await runAppends(
    sqliteSide('tidings-full', (file) => tidingsSqlite(file, 'FULL')),
    sizes,
    (line) => console.log(`  sqlite · tidings (FULL) · ${line}`),
  );
  const peers = {
    store: EMMETT_SQLITE,
    log: `${EMMETT_SQLITE}: readMessagesBatch (the store has no public global read)`,
    rebuild: `${EMMETT_SQLITE}: readMessagesBatch + the same apply (no rebuild in this version)`,
  };
  const cases = casesOf('sqlite', sizes, tidings, emmett, peers);
  const fullCases = casesOf('sqlite', sizes, { ...tidings, ...full }, emmett, peers)
    .slice(0, 2)
    .map(({ target: _target, ...c }) => ({
      ...c,
      name: `${c.name} (Tidings at synchronous=FULL)`,
      note: `Emmett's sqlite3 connections run at synchronous=${emmettSync}; this row gives Tidings the same durability`,
    }));
  printTable('sqlite', [...cases, ...fullCases]);
  report.cases.push(...cases, ...fullCases);
  report.peers.sqlite = EMMETT_SQLITE;
  report.notes.push(
    `sqlite: Emmett's connections run at synchronous=${emmettSync}, Tidings' store at NORMAL (its default); the FULL rows compare at equal durability.`,
    "sqlite: Emmett's getSQLiteEventStore opens and closes a sqlite3 connection per call on a file (as 0.38.5 does).",
    `sqlite: ${emmettSqliteBusyRetries()} Emmett calls (warm-up included) failed with SQLITE_BUSY "cannot commit transaction - SQL statements in progress" and were retried, within its timings.`,
  );
  console.log(`  ${report.notes.slice(-3).join('\n  ')}`);
}

async function benchPostgres(sizes: Sizes, warm: Sizes, report: Mutable): Promise<void> {
  // The floor first, before either side has loaded the server.
  const floorDatabase = await freshDatabase(`raw_bench_es_${process.pid}`);
  await checkpoint();
  try {
    report.floors.push({
      database: 'postgres',
      ...(await rawPostgresFloor(floorDatabase.url, sizes.singles)),
    });
  } finally {
    await floorDatabase.drop();
  }
  const { tidings, emmett } = await measure('postgres', sizes, warm, {
    tidings: postgresSide('tidings_bench_es', (url) => tidingsPostgres(url)),
    emmett: postgresSide('emmett_bench_es', (url) => emmettPostgres(url)),
  });
  const cases = casesOf('postgres', sizes, tidings, emmett, {
    store: EMMETT_POSTGRES,
    log: `${EMMETT_POSTGRES}: readMessagesBatch (the store has no public global read)`,
    rebuild: `${EMMETT_POSTGRES}: rebuildPostgreSQLProjections (one upsert per event, as its projector hands them)`,
  });
  printTable('postgres', cases);
  report.cases.push(...cases);
  report.peers.postgres = EMMETT_POSTGRES;
  report.notes.push(
    'postgres: each side gets a database of its own on the same server, after a CHECKPOINT.',
    "postgres: Emmett's global read orders by (transaction_id, global_position) with no index on them: each page sorts the table.",
    "postgres: Emmett's rebuild runs with pullingFrequencyInMs 0 (default 50 ms of sleep per batch) and Tidings' batch size.",
  );
  console.log(`  ${report.notes.slice(-3).join('\n  ')}`);
}

/**
 * Tidings' event stores beside Emmett's on the same SQLite file system and PostgreSQL server, in one
 * process run: appends to new streams and to one stream, stream reads, the global log and a projection
 * rebuild. Arguments: `sqlite` or `postgres` to run one database only, `--quick` for a tenth of the sizes.
 */
export async function benchEventStore(args: readonly string[]): Promise<EventStoreReport> {
  const { quick, databases } = parseArgs(args);
  const sizes = scaled(quick ? 0.1 : 1);
  const warm = scaled(quick ? 0.01 : 0.1);
  console.log(
    `event-store: ${quick ? 'quick (a tenth of the sizes)' : 'full sizes'}; ${databases.join(' and ')}` +
      (databases.includes('postgres') ? ` at ${new URL(POSTGRES_URL).host}` : ''),
  );
  const report: Mutable = { cases: [], peers: {}, floors: [], notes: [] };
  if (databases.includes('sqlite')) await benchSqlite(sizes, warm, report);
  if (databases.includes('postgres')) await benchPostgres(sizes, warm, report);
  console.log('\nThe floor: one-row transactions a second through the driver alone');
  console.table(
    report.floors.map((f) => ({
      database: f.database,
      driver: f.driver,
      'transactions/s': grouped(f.transactionsPerSecond),
    })),
  );
  const { peers, floors, notes, cases } = report;
  return {
    quick,
    sizes,
    machine: { cpus: cpus().length, node: process.version },
    peers,
    floors,
    notes,
    cases,
  };
}
