import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { isTidingsError, TidingsError } from '@tidings/core';
import type { ResolvedTransportOptions } from './options.ts';

/**
 * The transport's connection, and whether it is up right now. The NATS client reconnects by itself
 * and, meanwhile, buffers what is published; a publish would then wait for its acknowledgement until
 * the request times out and might still reach the server much later. The transport instead refuses
 * to publish while the connection is down, so a publisher learns at once (`TIDINGS_UNAVAILABLE`) and
 * nothing it was told had failed turns up afterwards.
 *
 * @internal
 */
export interface Connection {
  /** Resolves with the connection once it first connected. */
  ready(): Promise<NatsConnection>;
  /** The connection when it is up now; throws `TIDINGS_UNAVAILABLE` otherwise. */
  current(what: string): NatsConnection;
  /** Rejects with `TIDINGS_UNAVAILABLE` when the connection drops before `work` settles. */
  whileUp<T>(what: string, work: Promise<T>): Promise<T>;
  /** Closes the connection if the transport opened it. */
  close(): Promise<void>;
}

/** A promise with its resolver (Node 20 has no Promise.withResolvers). */
function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** @internal */
export function openConnection(
  options: ResolvedTransportOptions,
  given: NatsConnection | undefined,
): Connection {
  let up = false;
  let closed = false;
  let nc: NatsConnection | undefined;
  /** Settled at the next disconnect; replaced after each. */
  let dropped = signalled();
  const settings = {
    servers: options.servers,
    name: options.name,
    // Once connected, keep trying forever: consumers must outlive any outage.
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    timeout: options.requestTimeoutMs,
    pingInterval: 10_000,
    maxPingOut: 2,
  };
  // The first connect is retried here rather than with waitOnFirstConnect, so that close() can stop it.
  const firstConnect = async (): Promise<NatsConnection> => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const connection = await connect(settings);
        if (closed) {
          await connection.close();
          throw unavailable('the transport was closed before it connected');
        }
        return connection;
      } catch (error) {
        if (closed) throw unavailable('the transport was closed before it connected', error);
        if (attempt === 0) options.onError(error, { where: 'connection' });
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** Math.min(attempt, 5))));
      }
    }
  };
  const opened: Promise<NatsConnection> = given === undefined ? firstConnect() : Promise.resolve(given);
  opened.then(
    (connection) => {
      nc = connection;
      up = !connection.isClosed();
      void (async () => {
        for await (const status of connection.status()) {
          if (status.type === 'disconnect' || status.type === 'close') {
            up = false;
            dropped.resolve();
            dropped = signalled();
          } else if (status.type === 'reconnecting') up = false;
          else if (status.type === 'reconnect') up = true;
        }
      })().catch(() => undefined);
    },
    () => undefined,
  );

  return {
    async ready() {
      // Bounded: a transport whose server is down fails its calls instead of hanging in them.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              unavailable(
                `could not connect to ${describeServers(options)} within ${options.requestTimeoutMs} ms`,
              ),
            ),
          options.requestTimeoutMs,
        );
      });
      try {
        return await Promise.race([opened, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    current(what) {
      if (nc === undefined || !up || nc.isClosed()) {
        throw unavailable(
          `cannot ${what}: not connected to ${describeServers(options)}; the client keeps reconnecting`,
        );
      }
      return nc;
    },
    async whileUp(what, work) {
      const down = dropped.promise.then(() => {
        throw unavailable(
          `${what}: the connection dropped before the server answered; it may still have been applied`,
        );
      });
      down.catch(() => undefined);
      return Promise.race([work, down]);
    },
    async close() {
      closed = true;
      if (given !== undefined) return;
      const connection = await opened.catch(() => undefined);
      if (connection !== undefined && !connection.isClosed()) await connection.close();
    },
  };
}

function describeServers(options: ResolvedTransportOptions): string {
  return options.servers.length === 0 ? 'the NATS server' : options.servers.join(', ');
}

/** A `TIDINGS_UNAVAILABLE` error with a message that says what to do. @internal */
export function unavailable(message: string, cause?: unknown): TidingsError {
  return new TidingsError(
    'TIDINGS_UNAVAILABLE',
    `NATS is unavailable: ${message}. Retry later; check that the server runs with JetStream enabled.`,
    cause === undefined ? {} : { cause },
  );
}

const CONNECTION_ERRORS = new Set([
  'TimeoutError',
  'NoRespondersError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'RequestError',
  'JetStreamNotEnabled',
]);

/** Whether an error of the NATS client means the server cannot be reached right now. @internal */
export function isConnectionError(error: unknown): boolean {
  if (isTidingsError(error, 'TIDINGS_UNAVAILABLE')) return true;
  if (!(error instanceof Error)) return false;
  if (CONNECTION_ERRORS.has(error.name) || CONNECTION_ERRORS.has(error.constructor.name)) return true;
  // JetStream answers 503 while it is not ready yet (just after a restart, or during a leader election).
  const code = (error as { code?: unknown }).code;
  return code === 503 || code === '503' || /timeout|no responders|disconnect|closed/i.test(error.message);
}

/** Rethrows connection errors as `TIDINGS_UNAVAILABLE`, others as they are. @internal */
export function translate(error: unknown, what: string): unknown {
  if (isTidingsError(error)) return error;
  if (isConnectionError(error)) return unavailable(`${what} failed (${(error as Error).message})`, error);
  return error;
}
