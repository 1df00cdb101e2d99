/**
 * A consumer in a child process, for the SIGKILL case. The child runs the built package, as an
 * application would; the build happens once, when the test file loads.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConsumeOptions } from '@tidings/core';
import type { SpawnedConsumer } from '@tidings/core/testing';
import { eventually } from '@tidings/core/testing';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const dist = join(root, 'packages/postgres/dist/index.js');

/** Builds @tidings/postgres (and the core it references); says why not when it cannot. */
export function buildForChildren(): { ok: true } | { ok: false; reason: string } {
  try {
    execFileSync('npx', ['tsc', '-b', 'packages/postgres/tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    return { ok: false, reason: `could not build @tidings/postgres:\n${output.slice(0, 2000)}` };
  }
  return existsSync(dist) ? { ok: true } : { ok: false, reason: `no build at ${dist}` };
}

// Reports each delivery it claims as a JSON line, then hangs in the handler until it is killed.
const script = (packageUrl: string): string => `
import { postgresTransport } from ${JSON.stringify(packageUrl)};
const [connectionString, schema, options] = process.argv.slice(2);
const transport = postgresTransport({ connectionString, schema, pollIntervalMs: 10 });
await transport.consume(JSON.parse(options), async (delivery) => {
  process.stdout.write(JSON.stringify({ id: delivery.message.id, attempt: delivery.attempt }) + '\\n');
  await new Promise(() => undefined);
});
process.stdout.write('"ready"\\n');
`;

/** Starts a consumer process on `schema`; resolves once it consumes. */
export async function spawnChildConsumer(
  connectionString: string,
  schema: string,
  options: ConsumeOptions,
): Promise<SpawnedConsumer> {
  const path = join(mkdtempSync(join(tmpdir(), 'tidings-postgres-')), 'child-consumer.mjs');
  writeFileSync(path, script(pathToFileURL(dist).href));
  const child = spawn(process.execPath, [path, connectionString, schema, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const claimed: { id: string; attempt: number }[] = [];
  let ready = false;
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (buffered + chunk).split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const parsed = JSON.parse(line) as 'ready' | { id: string; attempt: number };
      if (parsed === 'ready') ready = true;
      else claimed.push(parsed);
    }
  });
  await eventually(() => ready, { what: 'the child process to consume', timeoutMs: 10_000 });
  return {
    holding: async (count) => {
      await eventually(() => claimed.length >= count, {
        what: `the child to hold ${count}`,
        timeoutMs: 10_000,
      });
      return claimed.map((entry) => entry.id);
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
