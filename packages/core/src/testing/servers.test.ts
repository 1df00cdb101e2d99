import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serverAvailable, startPrivateServer, type PrivateServer } from './servers.ts';

const servers: PrivateServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.dispose()));
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

const reachable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

// A tiny TCP server in a child process, standing in for a broker.
const listener = `require('node:net').createServer((s) => s.end()).listen(Number(process.argv[1]), '127.0.0.1')`;

describe('startPrivateServer', () => {
  it('starts a process on a free port, stops it, and starts it again on the same port', async () => {
    const server = await startPrivateServer({
      name: 'tcp listener',
      command: process.execPath,
      args: (port) => ['-e', listener, String(port)],
    });
    servers.push(server);
    expect(await reachable(server.port)).toBe(true);
    await server.stop();
    expect(await reachable(server.port)).toBe(false);
    await server.start();
    expect(await reachable(server.port)).toBe(true);
  });

  it('says what the process printed when it exits instead of listening', async () => {
    await expect(
      startPrivateServer({
        name: 'broken',
        command: process.execPath,
        args: () => ['-e', 'console.error("bad config line 3"); process.exit(3)'],
      }),
    ).rejects.toThrow(/broken did not start on port \d+: broken exited with 3:\nbad config line 3/);
  });
});

describe('serverAvailable', () => {
  const missing = {
    tests: '@tidings/example',
    server: 'Example server at tcp://127.0.0.1:1',
    start: 'Start it with `example-server`.',
    probe: () => Promise.reject(new Error('connect ECONNREFUSED')),
  };

  it('prints one loud line and resolves false when the server is missing', async () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await serverAvailable(missing)).toBe(false);
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toMatch(
      /!!! SKIPPED @tidings\/example integration tests: no Example server .* \(connect ECONNREFUSED\)\. Start it/,
    );
  });

  it('fails the run on CI', async () => {
    vi.stubEnv('CI', 'true');
    await expect(serverAvailable(missing)).rejects.toThrow(/CI=true, so a missing server fails the run/);
    expect(await serverAvailable({ ...missing, probe: () => Promise.resolve() })).toBe(true);
  });
});
