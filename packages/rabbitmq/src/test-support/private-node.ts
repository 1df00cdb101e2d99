/**
 * A RabbitMQ node of a test's own, for the broker-restart case: its own node name, ports, data and
 * log directories and configuration, started as a child process, so that stopping it touches no
 * other test's broker. It keeps its data directory across stop and start, like a real restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private node; `url` stays the same across restarts. @internal */
export interface PrivateNode {
  readonly url: string;
  readonly port: number;
  /** Stops the node (SIGTERM, as an init system would) and resolves once its process has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  destroy(): Promise<void>;
}

/** The server script itself; the /usr/sbin wrapper would switch users and lose the environment. */
const SERVER = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/local/lib/rabbitmq/sbin/rabbitmq-server'].find(
  (path) => existsSync(path),
);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Starts a private node, or says why it cannot (no server script, or no connection within
 * `startTimeoutMs`, with the end of its log).
 *
 * @internal
 */
export async function startPrivateNode(
  startTimeoutMs: number,
): Promise<{ ok: true; node: PrivateNode } | { ok: false; reason: string }> {
  if (SERVER === undefined)
    return { ok: false, reason: 'no rabbitmq-server script under /usr/lib/rabbitmq/bin' };
  const dir = mkdtempSync(join(tmpdir(), 'tidings-rabbitmq-node-'));
  const [port, distPort] = [await freePort(), await freePort()];
  const home = join(dir, 'home');
  for (const sub of ['home', 'mnesia', 'log', 'schema', 'generated']) mkdirSync(join(dir, sub));
  // A cookie of its own: the node and nothing else need it.
  writeFileSync(join(home, '.erlang.cookie'), randomUUID().replaceAll('-', ''));
  chmodSync(join(home, '.erlang.cookie'), 0o400);
  writeFileSync(join(dir, 'enabled_plugins'), '');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    `listeners.tcp.local = 127.0.0.1:${port}\nloopback_users = none\n`,
  );
  const env = {
    ...process.env,
    HOME: home,
    RABBITMQ_NODENAME: `tidings-${randomUUID().slice(0, 8)}@localhost`,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_SCHEMA_DIR: join(dir, 'schema'),
    RABBITMQ_GENERATED_CONFIG_DIR: join(dir, 'generated'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_PID_FILE: join(dir, 'node.pid'),
    RABBITMQ_LOGS: '-',
    ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const stop = async (): Promise<void> => {
    const running = child;
    if (running === undefined) return;
    child = undefined;
    if (running.exitCode === null && running.signalCode === null) running.kill('SIGTERM');
    await exited;
  };

  const start = async (): Promise<void> => {
    const log = join(dir, 'node.log');
    const spawned = spawn(SERVER, [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = spawned;
    exited = new Promise<void>((resolve) => spawned.once('exit', () => resolve()));
    const chunks: Buffer[] = [];
    const keep = (chunk: Buffer): void => {
      chunks.push(chunk);
      writeFileSync(log, Buffer.concat(chunks));
    };
    spawned.stdout?.on('data', keep);
    spawned.stderr?.on('data', keep);
    const deadline = Date.now() + startTimeoutMs;
    while (!(await accepts(port))) {
      if (spawned.exitCode !== null || Date.now() > deadline) {
        await stop();
        const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
        throw new Error(
          `the private RabbitMQ node did not accept connections within ${startTimeoutMs} ms:\n${tail}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  return {
    ok: true,
    node: {
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      port,
      stop,
      start,
      async destroy() {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
}
