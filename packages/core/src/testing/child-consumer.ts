/**
 * A consumer in a child process, for the case where a consumer dies with SIGKILL mid-handler. The
 * child imports the adapter's built package, as an application would, makes a transport with the
 * factory and arguments it is given, and reports every delivery it gets as a JSON line, then hangs in
 * the handler until it is killed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SpawnConsumerOptions, SpawnedConsumer } from './transport-cases/harness.ts';

/** What a built package offers a child consumer: its entry module, or why there is none. */
export type BuiltPackage = { ok: true; entry: string } | { ok: false; reason: string };

/**
 * Builds a workspace package with `tsc -b` (its references too) so a child process can import it;
 * says why not when it cannot.
 *
 * @param packageDir absolute path of the package, holding `tsconfig.build.json`; its entry is `dist/index.js`
 */
export function buildPackage(packageDir: string): BuiltPackage {
  if (!isAbsolute(packageDir)) {
    return { ok: false, reason: `buildPackage needs an absolute package directory (got ${packageDir})` };
  }
  const entry = join(packageDir, 'dist/index.js');
  try {
    const tsc = createRequire(join(packageDir, 'package.json')).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: packageDir, stdio: 'pipe' });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() || String(error);
    return { ok: false, reason: `could not build ${packageDir}:\n${output.slice(0, 2000)}` };
  }
  return existsSync(entry) ? { ok: true, entry } : { ok: false, reason: `no build at ${entry}` };
}

/** Options of {@link spawnChildConsumer}. */
export interface ChildConsumerOptions {
  /** The module the child imports: a built package's entry, as an absolute path. */
  readonly module: string;
  /** The name of the module's export that makes the transport; it is called with `args`. */
  readonly factory: string;
  /** The factory's argument (connection details); it must survive JSON. */
  readonly args: unknown;
  /** What to consume, as the suite's `spawnConsumer` receives it. */
  readonly consume: SpawnConsumerOptions & { readonly ordered?: boolean };
  /** Real milliseconds to wait for the child to start consuming (default 15 000). */
  readonly readyTimeoutMs?: number;
}

/** A spawned consumer that can also be killed when a case failed before it did. */
export interface ChildConsumer extends SpawnedConsumer {
  readonly exited: boolean;
}

const script = `
const [moduleUrl, factory, args, options] = process.argv.slice(2);
const made = (await import(moduleUrl))[factory](JSON.parse(args));
const transport = await made;
await transport.consume(JSON.parse(options), async (delivery) => {
  process.stdout.write(JSON.stringify({ id: delivery.message.id, attempt: delivery.attempt }) + '\\n');
  await new Promise(() => undefined);
});
process.stdout.write('"ready"\\n');
`;

let scriptPath: string | undefined;

async function until(predicate: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Waited ${timeoutMs} ms for ${what}, in vain.`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Starts a consumer in a child process; resolves once it consumes. Pair it with {@link buildPackage}
 * and pass the result as the suite's `spawnConsumer`.
 *
 * @example
 * const built = buildPackage(fileURLToPath(new URL('..', import.meta.url)));
 * const spawnConsumer = built.ok
 *   ? (consume) => spawnChildConsumer({ module: built.entry, factory: 'redisTransport', args: { url }, consume })
 *   : undefined;
 */
export async function spawnChildConsumer(options: ChildConsumerOptions): Promise<ChildConsumer> {
  if (scriptPath === undefined) {
    scriptPath = join(mkdtempSync(join(tmpdir(), 'tidings-child-')), 'child-consumer.mjs');
    writeFileSync(scriptPath, script);
  }
  const argv = [
    scriptPath,
    pathToFileURL(options.module).href,
    options.factory,
    JSON.stringify(options.args),
    JSON.stringify({ ordered: false, ...options.consume }),
  ];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
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
  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  try {
    await Promise.race([
      until(() => ready, 'the child process to consume', timeoutMs),
      exit.then(() => {
        throw new Error('The child consumer exited before it consumed; its stderr is above.');
      }),
    ]);
  } catch (error) {
    if (!exited) child.kill('SIGKILL');
    throw error;
  }
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
