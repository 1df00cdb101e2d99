import { randomUUID } from 'node:crypto';
import { checkPublish, TidingsError } from '@tidings/core';
import type { DoctorFinding, Transport, TransportCapabilities, TransportMessage } from '@tidings/core';
import {
  closeClient,
  connect,
  type Connection,
  openClient,
  type RedisClient,
  withTimeout,
} from './client.ts';
import { createDeadLetterStorage, storedRecord, whenConnected } from './dead-letters.ts';
import { pubSubDoctor } from './doctor.ts';
import { keysFor, messageToFrame } from './mapping.ts';
import { checkConsumeOptions } from './options.ts';
import { createGroups } from './pubsub-groups.ts';
import { resolvePubSubOptions } from './pubsub-options.ts';
import type { RedisPubSubTransportOptions } from './pubsub-options.ts';
import * as scripts from './scripts.ts';

/**
 * The largest body the Pub/Sub transport accepts: 4 MiB, well inside the server's default output
 * buffer limits for subscribers (32 MiB at once, 8 MiB for 60 s), past which Redis disconnects them.
 */
export const REDIS_PUBSUB_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** What the Pub/Sub transport promises (little); see docs/transports/redis-pubsub.md. */
export const REDIS_PUBSUB_CAPABILITIES: TransportCapabilities = Object.freeze({
  persistent: false,
  consumerGroups: false,
  ordering: 'none',
  delayedDelivery: false,
  deliveryCounter: false,
  leases: false,
  duplicates: 'only-after-failure',
  maxMessageBytes: REDIS_PUBSUB_MAX_MESSAGE_BYTES,
});

/** The Pub/Sub transport: a {@link Transport} that also says how many subscribers heard a publish. */
export interface RedisPubSubTransport extends Transport {
  /** The transport's own connection for publishing and dead letters; closed with the transport. */
  readonly client: RedisClient;
  /**
   * Publishes like `publish`, and resolves with what Redis answered for each message: how many
   * subscribed connections (transports, not groups) received it. 0 means nobody heard it, and it is gone.
   */
  publishCounted(channel: string, messages: readonly TransportMessage[]): Promise<readonly number[]>;
  /** Reads the server's settings that matter to Pub/Sub and its dead letters, each with its fix. */
  doctor(): Promise<readonly DoctorFinding[]>;
}

/**
 * Plain Redis Pub/Sub, for fire-and-forget events: a publish is a `PUBLISH` per message and resolves
 * once Redis has handed it to the subscribers connected at that moment; nothing is stored, so a
 * consumer that is not connected misses it. Every transport (process) consuming a group gets every
 * message; members of one group in the same transport share them. A nack redelivers in this process;
 * dead letters are kept in Redis, like the Streams transport's, and replayed on a channel of their
 * group.
 *
 * @example
 * const transport = redisPubSubTransport({ url: 'redis://127.0.0.1:6379' });
 * const bus = createBus({ catalog, transport });
 * await bus.subscribe({ group: 'live-view', handlers: { PriceChanged: refresh } });
 */
export function redisPubSubTransport(options: RedisPubSubTransportOptions = {}): RedisPubSubTransport {
  const resolved = resolvePubSubOptions(options);
  const namespace = `${resolved.prefix}:ps`;
  const keys = keysFor(namespace);
  const timeoutMs = resolved.commandTimeoutMs;
  const connection = connect(openClient(resolved.url, options.client), (error) =>
    resolved.onError(error, { where: 'connection' }),
  );
  const { client } = connection;
  const stop = new AbortController();
  let accepting = true;
  let closed = false;
  let closing: Promise<void> | undefined;

  // One subscribing connection per transport, opened with the first consumer. node-redis subscribes
  // it again by itself after a reconnect; what was published in between is missed.
  let subscriber: Connection | undefined;
  const heard = new Map<string, (frame: Buffer) => void>();
  const subscriberReady = async (): Promise<Connection> => {
    subscriber ??= connect(client.duplicate(), (error) => resolved.onError(error, { where: 'connection' }));
    await subscriber.whenReady('consume', timeoutMs);
    return subscriber;
  };

  const topicChannel = (channel: string, topic: string): string => `${namespace}:m:${channel}:${topic}`;
  const replayChannel = (channel: string, group: string): string => `${namespace}:replay:${channel}:${group}`;

  const groups = createGroups({
    clock: resolved.clock,
    maxBuffered: resolved.maxBuffered,
    stop: stop.signal,
    topicChannel,
    replayChannel,
    async subscribe(name) {
      const listener = (frame: Buffer): void => groups.heard(name, frame);
      heard.set(name, listener);
      const { client: sub } = await subscriberReady();
      await withTimeout('subscribe', timeoutMs, sub.subscribe(name, listener, true));
    },
    async unsubscribe(name) {
      const listener = heard.get(name);
      heard.delete(name);
      if (subscriber?.ready === true && listener !== undefined)
        await withTimeout('unsubscribe', timeoutMs, subscriber.client.unsubscribe(name, listener, true));
    },
    async storeDeadLetter(channel, group, message, failure) {
      await connection.whenReady('store a dead letter', timeoutMs);
      const id = randomUUID();
      const at = resolved.clock.now();
      const record = storedRecord(id, { channel, group }, message, failure, at);
      await scripts.storeDeadLetter.run(
        client,
        [keys.deadLetters, keys.deadLetterIndex, keys.deadLetterGroup(group), keys.deadLetterGroups],
        [id, JSON.stringify(record), String(at), group],
      );
    },
    report: (error, context) => {
      try {
        resolved.onError(error, context);
      } catch {
        // A throwing error reporter must not break delivery.
      }
    },
  });

  const storage = createDeadLetterStorage(client, keys, async (id, record) => {
    const done = await scripts.publishReplay.run<number>(
      client,
      [keys.deadLetters, keys.deadLetterIndex, keys.deadLetterGroup(record.group)],
      [id, replayChannel(record.channel, record.group), messageToFrame(record.message)],
    );
    if (done === -1) {
      throw new TidingsError(
        'TIDINGS_UNAVAILABLE',
        `Cannot replay dead letter ${id}: no consumer of group ${record.group} on channel ${record.channel} ` +
          'is subscribed, and Pub/Sub keeps nothing for later. The dead letter is kept; replay it while the group runs.',
      );
    }
    return done === 1;
  });
  const ensureOpen = (what: string, open: boolean): void => {
    if (!open) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: the redis pub/sub transport is closed. Create a new transport.`,
      );
    }
  };

  const publishCounted = async (
    channel: string,
    messages: readonly TransportMessage[],
  ): Promise<readonly number[]> => {
    ensureOpen('publish', !closed);
    checkPublish('redisPubSubTransport', channel, messages, REDIS_PUBSUB_MAX_MESSAGE_BYTES);
    if (messages.length === 0) return [];
    await connection.whenReady('publish', timeoutMs);
    const publish = (message: TransportMessage): [string, string, Buffer] => [
      'PUBLISH',
      topicChannel(channel, message.topic),
      messageToFrame(message),
    ];
    const [only] = messages;
    if (messages.length === 1 && only !== undefined) {
      return [Number(await withTimeout('publish', timeoutMs, client.sendCommand<number>(publish(only))))];
    }
    const multi = client.multi();
    for (const message of messages) multi.addCommand(publish(message));
    const replies = await withTimeout('publish', timeoutMs, multi.exec());
    return replies.map(Number);
  };

  return {
    name: 'redis-pubsub',
    capabilities: REDIS_PUBSUB_CAPABILITIES,
    client,
    deadLetters: whenConnected(storage, connection, timeoutMs),
    publishCounted,
    async publish(channel, messages) {
      await publishCounted(channel, messages);
    },
    async consume(consumeOptions, handler) {
      ensureOpen('consume', accepting);
      checkConsumeOptions(consumeOptions, handler, 'redisPubSubTransport.consume');
      return groups.add(consumeOptions, handler);
    },
    doctor: () => pubSubDoctor(connection, timeoutMs),
    close() {
      accepting = false;
      closing ??= (async () => {
        await groups.closeAll();
        stop.abort();
        closed = true;
        // Nothing the subscriber still has in flight matters once every consumer is closed.
        if (subscriber?.client.isOpen === true) subscriber.client.destroy();
        await closeClient(client);
      })();
      return closing;
    },
  };
}
