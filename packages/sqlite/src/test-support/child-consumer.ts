/**
 * Consumers in child processes, for the crash tests. The child runs the built package, as an
 * application would; the build happens once, when the test file loads.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConsumeOptions } from '@tidings/core';
import { eventually } from './harness.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const dist = join(root, 'packages/sqlite/dist/index.js');

/** Builds @tidings/sqlite (and the core it references); says why not when it cannot. */
export function buildForChildren(): { ok: true } | { ok: false; reason: string } {
  try {
    execFileSync('npx', ['tsc', '-b', 'packages/sqlite/tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    return { ok: false, reason: `could not build @tidings/sqlite:\n${output.slice(0, 2000)}` };
  }
  return existsSync(dist) ? { ok: true } : { ok: false, reason: `no build at ${dist}` };
}

// Reports each delivery it claims as a JSON line, then hangs in the handler until it is killed.
const script = (packageUrl: string): string => `
import { sqliteTransport } from ${JSON.stringify(packageUrl)};
const [file, options] = process.argv.slice(2);
const transport = sqliteTransport({ file, pollIntervalMs: 10 });
await transport.consume(JSON.parse(options), async (delivery) => {
  process.stdout.write(JSON.stringify({ id: delivery.message.id, attempt: delivery.attempt }) + '\\n');
  await new Promise(() => undefined);
});
process.stdout.write('"ready"\\n');
`;

export interface ChildConsumer {
  /** What the child claimed so far, in order. */
  readonly claimed: { id: string; attempt: number }[];
  /** Resolves once the child has claimed at least `count` deliveries. */
  holding(count: number): Promise<readonly string[]>;
  /** SIGKILL, mid-handler; resolves once the process has exited. */
  kill(): Promise<void>;
}

/** Starts a consumer process on `file`; resolves once it consumes. */
export async function spawnChildConsumer(
  dir: string,
  file: string,
  options: ConsumeOptions,
): Promise<ChildConsumer> {
  const path = join(dir, 'child-consumer.mjs');
  writeFileSync(path, script(pathToFileURL(dist).href));
  const child = spawn(process.execPath, [path, file, JSON.stringify(options)], {
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
  await eventually(() => ready, 'the child process to consume', 10_000);
  return {
    claimed,
    holding: async (count) => {
      await eventually(() => claimed.length >= count, `the child to hold ${count}`, 10_000);
      return claimed.map((entry) => entry.id);
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
