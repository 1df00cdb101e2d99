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

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const dist = join(root, 'packages/redis/dist/index.js');

/** Builds @tidings/redis (and the core it references); says why not when it cannot. */
export function buildForChildren(): { ok: true } | { ok: false; reason: string } {
  try {
    execFileSync('npx', ['tsc', '-b', 'packages/redis/tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    return { ok: false, reason: `could not build @tidings/redis:\n${output.slice(0, 2000)}` };
  }
  return existsSync(dist) ? { ok: true } : { ok: false, reason: `no build at ${dist}` };
}

// Reports each delivery it gets as a JSON line, then hangs in the handler until it is killed.
const script = (packageUrl: string): string => `
import { redisTransport } from ${JSON.stringify(packageUrl)};
const [url, prefix, options] = process.argv.slice(2);
const transport = redisTransport({ url, prefix, blockMs: 50 });
await transport.consume(JSON.parse(options), async (delivery) => {
  process.stdout.write(JSON.stringify({ id: delivery.message.id, attempt: delivery.attempt }) + '\\n');
  await new Promise(() => undefined);
});
process.stdout.write('"ready"\\n');
`;

async function until(predicate: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Waited ${timeoutMs} ms for ${what}, in vain.`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tidings-redis-'));

/** A spawned consumer that can also be killed when a case failed before it did. */
export interface ChildConsumer extends SpawnedConsumer {
  readonly exited: boolean;
}

/** Starts a consumer process; resolves once it consumes. */
export async function spawnChildConsumer(
  url: string,
  prefix: string,
  options: ConsumeOptions,
): Promise<ChildConsumer> {
  const path = join(dir, 'child-consumer.mjs');
  writeFileSync(path, script(pathToFileURL(dist).href));
  const child = spawn(process.execPath, [path, url, prefix, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
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
  await until(() => ready, 'the child process to consume', 10_000);
  return {
    get exited() {
      return exited;
    },
    holding: async (count) => {
      await until(() => claimed.length >= count, `the child to hold ${count}`, 10_000);
      return claimed.map((entry) => entry.id);
    },
    kill: async () => {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
}
