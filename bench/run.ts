import { mkdir, writeFile } from 'node:fs/promises';
import { benchEmitter } from './emitter.ts';
import { benchSqlite } from './sqlite.ts';

/**
 * A benchmark: measures Tidings beside its peers in this process and returns one row per comparison,
 * each with `name`, `peer`, `ratio` (above 1, Tidings is better) and the two figures.
 */
type Benchmark = () => Promise<readonly object[]>;

const benchmarks: Readonly<Record<string, Benchmark>> = {
  emitter: benchEmitter,
  sqlite: benchSqlite,
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
  const cases = await benchmark();
  const results = new URL('../results/', import.meta.url);
  await mkdir(results, { recursive: true });
  const file = new URL(`${name}.json`, results);
  await writeFile(file, `${JSON.stringify({ cases }, null, 2)}\n`);
  console.log(`Wrote ${file.pathname}`);
}
