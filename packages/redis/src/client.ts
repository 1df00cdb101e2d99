import { TidingsError } from '@tidings/core';
import { createClient, type RedisArgument } from 'redis';
import { asUnavailable, noReply } from './errors.ts';

/** The node-redis client type the transport uses. */
export type RedisClient = ReturnType<typeof createClient>;

/** The longest wait between two reconnect attempts, in ms. @internal */
export const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * The wait before reconnect attempt `retries` + 1: 50 ms doubling up to 2 s, plus up to 100 ms of
 * jitter so that many processes that lost the same server do not all come back at one instant. Never
 * gives up: a transport outlives any outage of its server. @internal
 */
export function reconnectDelay(retries: number, random: () => number = Math.random): number {
  return Math.min(50 * 2 ** Math.min(retries, 16), MAX_RECONNECT_DELAY_MS) + Math.floor(random() * 100);
}

/**
 * Opens a client of the transport's own: on RESP2 (the replies the scripts and stream reads are parsed
 * as), without node-redis's offline queue (a command while the connection is down fails at once
 * instead of waiting for the server), reconnecting by itself with {@link reconnectDelay}. A given
 * client only lends its connection settings (URL, TLS, credentials) and stays as it is. @internal
 */
export function openClient(url: string, given?: RedisClient): RedisClient {
  const overrides = { RESP: 2, disableOfflineQueue: true } as const;
  if (given === undefined) {
    return createClient({ url, ...overrides, socket: { reconnectStrategy: (n) => reconnectDelay(n) } });
  }
  const socket = given.options?.socket ?? {};
  return given.duplicate({
    ...overrides,
    socket: { ...socket, reconnectStrategy: (n) => reconnectDelay(n) },
  });
}

/** A client and what it knows about its connection. @internal */
export interface Connection {
  readonly client: RedisClient;
  /** Connected and ready for commands. */
  readonly ready: boolean;
  /**
   * Resolves once the client is ready. Fails at once with `TIDINGS_UNAVAILABLE` when the connection
   * was lost (the caller should not wait out an outage), and after `timeoutMs` while the first
   * connection is still being made.
   */
  whenReady(what: string, timeoutMs: number): Promise<void>;
  /** Resolves once the client is ready again, or when `stop` aborts: for loops that wait out an outage. */
  untilReady(stop: AbortSignal): Promise<void>;
}

/**
 * Opens a client and watches it. `onLost` hears the first error of each outage (node-redis reports
 * every failed reconnect attempt; one line per outage is enough). @internal
 */
export function connect(client: RedisClient, onLost: (error: unknown) => void): Connection {
  let everReady = false;
  let lost = false;
  const waiters = new Set<() => void>();
  client.on('ready', () => {
    everReady = true;
    lost = false;
    for (const wake of [...waiters]) wake();
  });
  client.on('error', (error: unknown) => {
    if (lost) return;
    lost = true;
    onLost(error);
  });
  // Reported through onLost; this keeps a failure from being unhandled. It settles when the client
  // is first ready, or is destroyed.
  client.connect().catch(() => undefined);

  const wait = (stop: AbortSignal | undefined, timeoutMs: number | undefined): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      if (client.isReady || stop?.aborted === true) {
        resolve(client.isReady);
        return;
      }
      const done = (): void => {
        waiters.delete(done);
        clearTimeout(timer);
        stop?.removeEventListener('abort', done);
        resolve(client.isReady);
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      stop?.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });

  return {
    client,
    get ready() {
      return client.isReady;
    },
    async whenReady(what, timeoutMs) {
      if (client.isReady) return;
      if (!client.isOpen) {
        throw new TidingsError('TIDINGS_CLOSED', `Cannot ${what}: the connection to Redis is closed.`);
      }
      if (!everReady && (await wait(undefined, timeoutMs))) return;
      throw new TidingsError(
        'TIDINGS_UNAVAILABLE',
        `Cannot ${what}: ${everReady ? 'the connection to Redis is lost' : `no connection to Redis within ${timeoutMs} ms`}; ` +
          'the transport reconnects by itself. Nothing was written; retry once the server is back.',
        { details: { written: 'no' } },
      );
    },
    async untilReady(stop) {
      await wait(stop, undefined);
    },
  };
}

/** Closes a client: politely when it is connected, at once when it is not. @internal */
export async function closeClient(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) await client.close().catch(() => client.destroy());
  else client.destroy();
}

/**
 * Sends a raw command and types its RESP2 reply as the caller knows it; an unreachable server becomes
 * `TIDINGS_UNAVAILABLE`. @internal
 */
export async function command<T>(client: RedisClient, args: readonly RedisArgument[]): Promise<T> {
  try {
    return await client.sendCommand<T>(args);
  } catch (error) {
    throw asUnavailable(error, `run ${String(args[0] ?? 'a command')}`);
  }
}

/** Rejects with `TIDINGS_UNAVAILABLE` when `work` gets no reply within `timeoutMs`. @internal */
export async function withTimeout<T>(what: string, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(noReply(what, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (error) {
    throw asUnavailable(error, what);
  } finally {
    clearTimeout(timer);
    // A reply that comes after the timeout, or its error, is of no interest any more.
    work.catch(() => undefined);
  }
}

/** Runs a Lua script with EVALSHA, loading it on NOSCRIPT. @internal */
export interface Script {
  run<T>(client: RedisClient, keys: readonly string[], args: readonly RedisArgument[]): Promise<T>;
}

/** @internal */
export function script(source: string): Script {
  let sha: string | undefined;
  return {
    async run<T>(client: RedisClient, keys: readonly string[], args: readonly RedisArgument[]): Promise<T> {
      sha ??= await command<string>(client, ['SCRIPT', 'LOAD', source]);
      try {
        return await command<T>(client, ['EVALSHA', sha, String(keys.length), ...keys, ...args]);
      } catch (error) {
        // A restarted server has forgotten its scripts.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return command<T>(client, ['EVAL', source, String(keys.length), ...keys, ...args]);
      }
    },
  };
}
