/**
 * A redis-server of a test's own (core's `startPrivateServer`), that the test may kill and start again:
 * the shared server must never be stopped by a test, since other test files use it meanwhile.
 */
import { spawnSync } from 'node:child_process';
import { createClient } from 'redis';
import { eventually, serverAvailable, startPrivateServer } from '@tidings/core/testing';

const BINARY = process.env.TIDINGS_REDIS_SERVER ?? 'redis-server';

/**
 * Whether `redis-server` can be started here; one loud line when it cannot, a failure with `CI=true`.
 * @internal
 */
export function redisServerAvailable(): Promise<boolean> {
  return serverAvailable({
    tests: '@tidings/redis restart and doctor',
    server: `${BINARY} binary to start private servers with`,
    start: 'Install it with `apt-get install redis-server`, or set TIDINGS_REDIS_SERVER to its path.',
    probe: () => {
      const found = spawnSync(BINARY, ['--version'], { stdio: 'ignore' });
      if (found.status !== 0) throw new Error(found.error?.message ?? `exit status ${String(found.status)}`);
      return Promise.resolve();
    },
  });
}

/** A private server. @internal */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Kills the server with SIGKILL (no shutdown, no last fsync) and resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it answers PING. */
  start(): Promise<void>;
  /** Kills it and deletes its data directory. */
  close(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const client = createClient({ url, socket: { connectTimeout: 500, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // LOADING while it reads its AOF back: not ready yet.
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** Starts a private server with `settings` (e.g. `['--appendonly', 'yes']`). @internal */
export async function startPrivateRedis(settings: readonly string[]): Promise<PrivateRedis> {
  const server = await startPrivateServer({
    name: 'redis-server',
    command: BINARY,
    args: (port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      ...settings,
    ],
    stopSignal: 'SIGKILL',
  });
  const url = `redis://127.0.0.1:${server.port}`;
  const answering = (): Promise<void> =>
    eventually(() => answers(url), {
      timeoutMs: 15_000,
      what: `the private redis-server at ${url} to answer PING`,
    });
  await answering();
  return {
    port: server.port,
    url,
    kill: () => server.stop(),
    async start() {
      await server.start();
      await answering();
    },
    close: () => server.dispose(),
  };
}
