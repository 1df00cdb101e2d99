import { createClient } from 'redis';
import { checkPublish, TidingsError } from '@tidings/core';
import type { Transport, TransportCapabilities, TransportConsumer, TransportMessage } from '@tidings/core';
import type { RedisClient } from './client.ts';
import { startConsumer } from './consumer.ts';
import { createDeadLetters } from './dead-letters.ts';
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
}

/**
 * The Redis Streams transport: one stream per channel and topic, one consumer group per Tidings
 * group, leases through XAUTOCLAIM, delayed retries through a sorted set per group, dead letters in a
 * hash with time indexes. Redis has no nack: a nack acks the entry and copies the message into the
 * group's own retry stream (now, or when its delay is due), so that only that group sees it again.
 *
 * A publish is one MULTI of XADDs and resolves once Redis has applied it; how durable that is depends
 * on the server's AOF settings (see docs/transports/redis.md).
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
  // Always connections of our own, on RESP2 (the replies the scripts and stream reads are parsed as);
  // a given client only lends its connection settings and stays as it is.
  const client: RedisClient =
    options.client === undefined
      ? createClient({ url: resolved.url, RESP: 2 })
      : options.client.duplicate({ RESP: 2 });
  client.on('error', (error: unknown) => resolved.onError(error, { where: 'read' }));
  const connected: Promise<unknown> = client.connect();
  // Reported where it is awaited; this keeps an early failure from being unhandled meanwhile.
  connected.catch(() => undefined);

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

  const storage = {
    list: async (...args: Parameters<typeof deadLetters.storage.list>) => {
      await connected;
      return deadLetters.storage.list(...args);
    },
    get: async (id: string) => {
      await connected;
      return deadLetters.storage.get(id);
    },
    replay: async (id: string) => {
      await connected;
      return deadLetters.storage.replay(id);
    },
    discard: async (ids: readonly string[]) => {
      await connected;
      return deadLetters.storage.discard(ids);
    },
    depth: async () => {
      await connected;
      return deadLetters.storage.depth();
    },
  };

  const transport: RedisTransport = {
    name: 'redis',
    capabilities: REDIS_CAPABILITIES,
    deadLetters: storage,
    client,

    async publish(channel, messages) {
      ensureOpen('publish', !closed);
      checkPublish('redisTransport', channel, messages, REDIS_MAX_MESSAGE_BYTES);
      if (messages.length === 0) return;
      await connected;
      const add = (message: TransportMessage): string[] => [
        'XADD',
        keys.stream(channel, message.topic),
        ...trim,
        '*',
        ...messageToFields(message),
      ];
      const [only] = messages;
      if (messages.length === 1 && only !== undefined) {
        await client.sendCommand(add(only));
        return;
      }
      const multi = client.multi();
      for (const message of messages) multi.addCommand(add(message));
      await multi.exec();
    },

    async consume(consumeOptions, handler) {
      ensureOpen('consume', accepting);
      checkConsumeOptions(consumeOptions, handler);
      await connected;
      const consumer = await startConsumer(
        {
          client,
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
        await connected.catch(() => undefined);
        if (client.isOpen) await client.close();
      })();
      return closing;
    },
  };
  return transport;
}
