import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './transport-cases/harness.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** An echo server on a free loopback port. */
async function echoServer(): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket)).on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

/** Connects, sends `text`, and resolves with the echo, or with the error the connection ended in. */
async function roundTrip(proxy: TcpProxy, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: proxy.host, port: proxy.port });
    let echoed = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk: string) => {
      echoed += chunk;
      if (echoed.length >= text.length) {
        socket.end();
        resolve(echoed);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
    socket.on('close', () => resolve(echoed === '' ? 'closed' : echoed));
  });
}

describe('startTcpProxy', () => {
  it('forwards both ways, resets open connections when cut, refuses new ones until restored', async () => {
    const proxy = await startTcpProxy({ port: await echoServer() });
    cleanups.push(() => proxy.close());
    expect(await roundTrip(proxy, 'hello')).toBe('hello');

    const open = connect({ host: proxy.host, port: proxy.port });
    const ended = new Promise<string>((resolve) => {
      open.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      open.on('close', () => resolve('closed'));
    });
    await new Promise<void>((resolve) => open.on('connect', () => resolve()));
    await eventually(() => proxy.connections === 1, { what: 'the connection to reach the proxy' });

    proxy.cut();
    expect(await ended).toMatch(/ECONNRESET|closed/);
    expect(proxy.connections).toBe(0);
    expect(await roundTrip(proxy, 'while cut')).toMatch(/^error|closed/);

    proxy.restore();
    expect(await roundTrip(proxy, 'again')).toBe('again');
    expect(proxy.accepted).toBe(3);
  });
});
