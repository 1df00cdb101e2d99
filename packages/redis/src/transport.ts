import { checkPublish, TidingsError } from '@tidings/core';
import type {
  DoctorFinding,
  Transport,
  TransportCapabilities,
  TransportConsumer,
  TransportMessage,
} from '@tidings/core';
import { closeClient, connect, openClient, type RedisClient, withTimeout } from './client.ts';
import { startConsumer } from './consumer.ts';
import { createDeadLetters, whenConnected } from './dead-letters.ts';
import { streamsDoctor } from './doctor.ts';
import { keysFor, messageToFields } from './mapping.ts';
import { checkConsumeOptions, resolveTransportOptions } from './options.ts';
import type { RedisTransportOptions } from './options.ts';

/** The largest body the redis transport accepts: 64 MiB (the server's own limit is 512 MB). */
export const REDIS_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** What the redis transport promises; see docs/transports/redis.md. */
export const REDIS_CAPABILITIES: TransportCapabilities = Object.freeze({
  persistent: true,
  consumerGroups: true,
  ordering: 'none',
  delayedDelivery: true,
  deliveryCounter: true,
  leases: true,
  duplicates: 'only-after-failure',
  maxMessageBytes: REDIS_MAX_MESSAGE_BYTES,
});

/** The redis transport: a {@link Transport}, plus the connection it publishes and settles with. */
export interface RedisTransport extends Transport {
  /** The transport's own connection; closed with the transport. */
  readonly client: RedisClient;
  /**
   * Reads the server's settings and says which break a promise of this transport (eviction, AOF,
   * snapshots, memory limit, replication), each with its fix; changes nothing.
   */
  doctor(): Promise<readonly DoctorFinding[]>;
}

/**
 * The Redis Streams transport: one stream per channel and topic, one consumer group per Tidings
 * group, leases through XAUTOCLAIM, delayed retries through a sorted set per group, dead letters in a
 * hash with time indexes. Redis has no nack: a nack acks the entry and copies the message into the
 * group's own retry stream (now, or when its delay is due), so that only that group sees it again.
 *
 * A publish is one MULTI of XADDs and resolves once Redis has applied it; how durable that is depends
 * on the server's AOF settings (see docs/transports/redis.md, and `doctor()`). While Redis is away a
 * publish fails fast with `TIDINGS_UNAVAILABLE`; connections come back by themselves, and consumers
 * wait the outage out.
 *
 * @example
 * const transport = redisTransport({ url: 'redis://127.0.0.1:6379' });
 * const bus = createBus({ catalog, transport });
 * // …
 * await transport.close(); // drains consumers, then disconnects
 */
export function redisTransport(options: RedisTransportOptions = {}): RedisTransport {
  const resolved = resolveTransportOptions(options);
  const keys = keysFor(resolved.prefix);
  const connection = connect(openClient(resolved.url, options.client), (error) =>
    resolved.onError(error, { where: 'connection' }),
  );
  const { client } = connection;
  const timeoutMs = resolved.commandTimeoutMs;

  const consumers = new Set<TransportConsumer>();
  let accepting = true;
  let closed = false;
  let closing: Promise<void> | undefined;
  const isClosed = (): boolean => closed;
  const deadLetters = createDeadLetters(client, keys, resolved.clock);

  const ensureOpen = (what: string, open: boolean): void => {
    if (!open) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: the redis transport is closed. Create a new transport.`,
      );
    }
  };
  const trim = resolved.maxLength === undefined ? [] : ['MAXLEN', '~', String(resolved.maxLength)];

  const transport: RedisTransport = {
    name: 'redis',
    capabilities: REDIS_CAPABILITIES,
    deadLetters: whenConnected(deadLetters.storage, connection, timeoutMs),
    client,

    async publish(channel, messages) {
      ensureOpen('publish', !closed);
      checkPublish('redisTransport', channel, messages, REDIS_MAX_MESSAGE_BYTES);
      if (messages.length === 0) return;
      await connection.whenReady('publish', timeoutMs);
      const add = (message: TransportMessage): string[] => [
        'XADD',
        keys.stream(channel, message.topic),
        ...trim,
        '*',
        ...messageToFields(message),
      ];
      const [only] = messages;
      if (messages.length === 1 && only !== undefined) {
        await withTimeout('publish', timeoutMs, client.sendCommand(add(only)));
        return;
      }
      const multi = client.multi();
      for (const message of messages) multi.addCommand(add(message));
      await withTimeout('publish', timeoutMs, multi.exec());
    },

    doctor: () => streamsDoctor(connection, timeoutMs),

    async consume(consumeOptions, handler) {
      ensureOpen('consume', accepting);
      checkConsumeOptions(consumeOptions, handler);
      await connection.whenReady('consume', timeoutMs);
      const consumer = await startConsumer(
        {
          connection,
          keys,
          options: resolved,
          deadLetters,
          closed: isClosed,
          forget: (done) => consumers.delete(done),
        },
        consumeOptions,
        handler,
      );
      consumers.add(consumer);
      return consumer;
    },

    close() {
      accepting = false;
      closing ??= (async () => {
        await Promise.all([...consumers].map((consumer) => consumer.close()));
        closed = true;
        await closeClient(client);
      })();
      return closing;
    },
  };
  return transport;
}
