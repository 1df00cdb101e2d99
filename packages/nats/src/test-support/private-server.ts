import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@tidings/core/testing';

/** The nats-server binary the restart test starts; TIDINGS_NATS_SERVER overrides it. @internal */
export const NATS_SERVER_BIN = process.env.TIDINGS_NATS_SERVER ?? '/usr/sbin/nats-server';

/** A nats-server of a test's own, on its own port and store directory, that it can stop and start. @internal */
export interface PrivateServer {
  readonly url: string;
  /** Stops the process with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its store directory. */
  dispose(): Promise<void>;
}

/** Whether the binary is there. @internal */
export function natsServerInstalled(): boolean {
  return existsSync(NATS_SERVER_BIN);
}

/** Starts a private nats-server with JetStream; resolves once it is ready. @internal */
export async function startPrivateServer(): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-nats-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    let output = '';
    const process_ = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = process_;
    exited = new Promise<void>((resolve) => process_.once('exit', () => resolve()));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server did not start in 15 s:\n${output}`)),
        15_000,
      );
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      process_.stdout?.on('data', onData);
      process_.stderr?.on('data', onData);
      process_.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${output}`));
      });
    });
    await ready;
  };

  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    child = undefined;
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
