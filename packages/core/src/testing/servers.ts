/**
 * Servers for adapter tests: whether the shared test server is there (with one loud line when it is
 * not, and a failure on CI), and private server processes a test can stop and start again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of {@link serverAvailable}. */
export interface ServerAvailableOptions {
  /** Whose tests need the server, e.g. `@tidings/redis`. */
  readonly tests: string;
  /** The server and where it was looked for, e.g. `Redis at redis://127.0.0.1:6379`. */
  readonly server: string;
  /** How to start one, or point the tests at another (a command, an environment variable). */
  readonly start: string;
  /** Connects and asks something small; rejects when the server is not usable. */
  probe(): Promise<unknown>;
}

/**
 * Whether the test server answers. When it does not, prints ONE loud line saying which server is
 * missing and how to start it, and resolves to false so the tests skip; with `CI=true`, where a missing
 * server is a failure rather than a skip, it throws instead.
 *
 * @example
 * const available = await serverAvailable({
 *   tests: '@tidings/redis', server: `Redis at ${url}`, start: 'redis-server --daemonize yes',
 *   probe: () => ping(url),
 * });
 * describe.skipIf(!available)('redis', () => { … });
 */
export async function serverAvailable(options: ServerAvailableOptions): Promise<boolean> {
  try {
    await options.probe();
    return true;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const line = `${options.tests} integration tests: no ${options.server} (${why}). ${options.start}`;
    if (process.env.CI === 'true') {
      throw new Error(`${line} CI=true, so a missing server fails the run.`, { cause: error });
    }
    console.warn(`\n!!! SKIPPED ${line}\n`);
    return false;
  }
}

/** A free TCP port on loopback, for a private server. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on `port`; rejects after `timeoutMs` real ms. */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`Nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Options of {@link startPrivateServer}. */
export interface PrivateServerOptions {
  /** For messages, e.g. `redis-server`. */
  readonly name: string;
  readonly command: string;
  /** The arguments, given the server's port and its own data directory. */
  args(port: number, dir: string): readonly string[];
  /** Extra environment variables, given the same. */
  env?(port: number, dir: string): Record<string, string>;
  /** Prepares the data directory once, before the first start (e.g. `initdb`). */
  prepare?(dir: string, port: number): void | Promise<void>;
  /** Real ms to wait for the port to open (default 30 000). */
  readonly startTimeoutMs?: number;
  /** The signal that stops it cleanly (default SIGTERM). */
  readonly stopSignal?: NodeJS.Signals;
}

/** A server process of one test's own, on its own port and data directory. */
export interface PrivateServer {
  readonly port: number;
  readonly dir: string;
  /** Stops the process with the stop signal and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once the port accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

/**
 * Starts a private server process and waits for its port; the restart case stops and starts it.
 *
 * @example
 * const redis = await startPrivateServer({
 *   name: 'redis-server', command: 'redis-server',
 *   args: (port, dir) => ['--port', String(port), '--dir', dir, '--appendonly', 'yes'],
 * });
 * await runOutageCase({ transport, interrupt: () => redis.stop(), resume: () => redis.start() });
 * await redis.dispose();
 */
export async function startPrivateServer(options: PrivateServerOptions): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `tidings-${options.name.replace(/[^a-z0-9]+/gi, '-')}-`));
  await options.prepare?.(dir, port);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    const started = spawn(options.command, [...options.args(port, dir)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env?.(port, dir) },
    });
    child = started;
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4_000);
    };
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    const failed = new Promise<never>((_, reject) => {
      started.once('error', reject);
      started.once('exit', (code) => reject(new Error(`${options.name} exited with ${code}:\n${output}`)));
    });
    failed.catch(() => undefined);
    try {
      await Promise.race([waitForPort(port, options.startTimeoutMs ?? 30_000), failed]);
    } catch (error) {
      started.kill('SIGKILL');
      throw new Error(
        `${options.name} did not start on port ${port}: ${(error as Error).message}\n${output}`,
        {
          cause: error,
        },
      );
    }
  };

  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill(options.stopSignal ?? 'SIGTERM');
    }
    await exited;
    child = undefined;
  };

  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    dir,
    start,
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
