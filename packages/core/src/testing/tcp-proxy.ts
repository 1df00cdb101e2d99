/**
 * A TCP proxy on loopback that a test can cut and restore, to take a connection away from a client
 * without touching the server: every open connection is reset, and new ones are refused until
 * `restore()`.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';

/** A running proxy; point the client at `port` instead of the server's. */
export interface TcpProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Connections open right now. */
  readonly connections: number;
  /** Connections made through the proxy so far (a reconnecting client makes more). */
  readonly accepted: number;
  /** Resets every open connection and refuses new ones until `restore()`. */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port that forwards to `target`. */
export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1';
  const pairs = new Set<[Socket, Socket]>();
  let isCut = false;
  let accepted = 0;
  const server: Server = createServer((client) => {
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    accepted += 1;
    const upstream = connect({ host, port: target.port });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP port');
  const reset = (): void => {
    for (const [client, upstream] of [...pairs]) {
      pairs.delete([client, upstream]);
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
  };
  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    cut() {
      isCut = true;
      reset();
    },
    restore() {
      isCut = false;
    },
    close() {
      isCut = true;
      reset();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
