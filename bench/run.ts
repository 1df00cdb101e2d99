import { mkdir, writeFile } from 'node:fs/promises';
import { benchAws } from './aws.ts';
import { benchBus } from './bus-path.ts';
import { benchEmitter } from './emitter.ts';
import { benchEventStore } from './event-store.ts';
import { benchSqlite } from './sqlite.ts';
import { benchTransports } from './transports.ts';

/**
 * A benchmark: measures Tidings beside its peers in this process and returns one row per comparison,
 * each with `name`, `peer`, `ratio` (above 1, Tidings is better) and the two figures; or a report
 * holding those rows as `cases` beside facts about the run. It receives the arguments after its name.
 */
type Benchmark = (
  args: readonly string[],
) => Promise<readonly object[] | { readonly cases: readonly object[] }>;

const benchmarks: Readonly<Record<string, Benchmark>> = {
  aws: benchAws,
  bus: benchBus,
  emitter: benchEmitter,
  'event-store': benchEventStore,
  sqlite: benchSqlite,
  transports: benchTransports,
};

const name = process.argv[2];
const benchmark = name === undefined ? undefined : benchmarks[name];
if (name === undefined || benchmark === undefined) {
  const available = Object.keys(benchmarks).join(', ');
  console.error(
    name === undefined
      ? `Name a benchmark: npm run bench -- <name>. Available: ${available}.`
      : `No benchmark named "${name}". Available: ${available}.`,
  );
  process.exitCode = 2;
} else {
  const result = await benchmark(process.argv.slice(3));
  const report = Array.isArray(result) ? { cases: result } : result;
  const results = new URL('../results/', import.meta.url);
  await mkdir(results, { recursive: true });
  const file = new URL(`${name}.json`, results);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Wrote ${file.pathname}`);
}
