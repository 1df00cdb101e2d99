/**
 * A private PostgreSQL cluster for tests that stop the server or need settings the shared one must not
 * have: its own port, its own data directory under the OS temp dir, removed afterwards. The server
 * refuses to run as root, so as root every command runs as the `postgres` user.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A private cluster; `stop()` and `start()` take it away and bring it back on the same port. */
export interface PrivateCluster {
  readonly port: number;
  readonly connectionString: string;
  /** `pg_ctl stop -m fast`: sessions are ended (57P01), new connections are refused. */
  stop(): Promise<void>;
  /** Starts it again, on the same port and data. */
  start(): Promise<void>;
  /** Stops it when it runs and removes its directory. */
  remove(): Promise<void>;
}

/** Where initdb and pg_ctl are, or why there are none. */
function findBinaries(): { ok: true; bin: string } | { ok: false; reason: string } {
  const root = '/usr/lib/postgresql';
  const fromEnv = process.env.TIDINGS_PG_BIN;
  if (fromEnv !== undefined) {
    return existsSync(join(fromEnv, 'initdb'))
      ? { ok: true, bin: fromEnv }
      : { ok: false, reason: `TIDINGS_PG_BIN=${fromEnv} holds no initdb` };
  }
  if (!existsSync(root)) {
    return {
      ok: false,
      reason: `no PostgreSQL server binaries in ${root} (set TIDINGS_PG_BIN to their directory)`,
    };
  }
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin/initdb')))
    .sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  return newest === undefined
    ? { ok: false, reason: `no initdb under ${root}/*/bin (set TIDINGS_PG_BIN to its directory)` }
    : { ok: true, bin: join(root, newest, 'bin') };
}

async function idOf(user: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

const quoteOption = (value: string): string => (/^[\w.:/-]+$/.test(value) ? value : `'${value}'`);

/**
 * Makes and starts a private cluster with `settings` (`-c name=value` each); resolves with it, or with
 * the reason it cannot be made here.
 */
export async function startPrivateCluster(
  settings: Readonly<Record<string, string>> = {},
): Promise<{ ok: true; cluster: PrivateCluster } | { ok: false; reason: string }> {
  const binaries = findBinaries();
  if (!binaries.ok) return binaries;
  const asRoot = userInfo().uid === 0;
  const owner = asRoot ? await idOf('postgres') : undefined;
  if (asRoot && owner === undefined) {
    return { ok: false, reason: 'running as root, and there is no postgres user to run the server as' };
  }
  const as = (command: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(binaries.bin, command), ...args]]
      : [join(binaries.bin, command), args];
  const dir = mkdtempSync(join(tmpdir(), 'tidings-pg-'));
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c shared_buffers=16MB',
    ...Object.entries(settings).map(([name, value]) => `-c ${name}=${quoteOption(value)}`),
  ].join(' ');
  const pgCtl = (args: string[]): Promise<unknown> => run(...as('pg_ctl', ['-D', data, ...args]));
  let running = false;
  const cluster: PrivateCluster = {
    port,
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await pgCtl(['-m', 'fast', '-w', 'stop']);
      running = false;
    },
    async start() {
      await pgCtl(['-o', serverOptions, '-w', '-t', '30', '-l', join(dir, 'server.log'), 'start']);
      running = true;
    },
    async remove() {
      if (running) await pgCtl(['-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await run(...as('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '-N', '-E', 'UTF8']));
    await cluster.start();
  } catch (error) {
    await cluster.remove();
    const output = (error as { stderr?: string }).stderr || String(error);
    return {
      ok: false,
      reason: `could not start a private cluster with ${binaries.bin}: ${output.slice(0, 1000)}`,
    };
  }
  return { ok: true, cluster };
}

/**
 * Says loudly why a private-cluster test is skipped, once; on CI (`CI=true`) throws instead, so the
 * run fails rather than passing without it.
 */
export function skipPrivateCluster(file: string, reason: string): void {
  const line = `${file}: a private PostgreSQL cluster could not be started, the test is SKIPPED: ${reason}`;
  if (process.env.CI === 'true') throw new Error(`${line} CI=true: a missing cluster fails the run.`);
  console.warn(`\n!!! ${line}\n`);
}
