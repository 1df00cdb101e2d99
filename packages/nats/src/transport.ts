import type { NatsConnection } from '@nats-io/transport-node';
import { checkPublish, invalidOptions, TidingsError } from '@tidings/core';
import type {
  DoctorFinding,
  Transport,
  TransportCapabilities,
  TransportConsumer,
  TransportMessage,
} from '@tidings/core';
import { openConnection, translate } from './client.ts';
import { startConsumer } from './consumer.ts';
import { createDeadLetters } from './dead-letters.ts';
import { runDoctorChecks } from './doctor.ts';
import { dedupableId, namesFor, toNatsMessage } from './mapping.ts';
import { checkConsumeOptions, NATS_DEFAULTS, resolveTransportOptions } from './options.ts';
import type { NatsTransportOptions } from './options.ts';
import { createStreams } from './streams.ts';

/** What the nats transport promises with its default options; see docs/transports/nats.md. */
export const NATS_CAPABILITIES: TransportCapabilities = Object.freeze({
  persistent: true,
  consumerGroups: true,
  ordering: 'none',
  delayedDelivery: true,
  deliveryCounter: true,
  leases: true,
  duplicates: 'only-after-failure',
  maxMessageBytes: NATS_DEFAULTS.maxMessageBytes,
});

/** The nats transport: a {@link Transport} with doctor checks and the connection it uses. */
export interface NatsTransport extends Transport {
  /** Resolves with the connection once it first connected (the transport's own, or the one given). */
  connection(): Promise<NatsConnection>;
  /** Reads the server's and the streams' settings and says where they break a promise; changes nothing. */
  doctor(): Promise<readonly DoctorFinding[]>;
}

/** A channel's stream name must fit a file name: letters, digits and `-` are kept, other bytes take 3 characters. */
const MAX_ESCAPED_CHANNEL = 200;

/**
 * The NATS JetStream transport: a stream per channel (`<prefix>_ch_<channel>`, file storage), a durable
 * pull consumer per group, `ack_wait` as the lease, `nak(delay)` for delayed retries, the server's
 * delivery count as the attempt, and dead letters in a stream of their own (`<prefix>_dlq`).
 *
 * A publish resolves once JetStream has stored every message of the batch (each with its own
 * acknowledgement; a batch is not atomic, but every message is deduplicated by its id within the
 * stream's duplicate window, so publishing a batch again is safe). While the connection is down a
 * publish fails at once with `TIDINGS_UNAVAILABLE`; consumers wait and carry on once it is back.
 *
 * @example
 * const transport = natsTransport({ servers: 'nats://127.0.0.1:4222' });
 * const bus = createBus({ catalog, transport });
 * // …
 * await transport.close(); // drains consumers, then closes the connection
 */
export function natsTransport(options: NatsTransportOptions): NatsTransport {
  const resolved = resolveTransportOptions(options);
  const names = namesFor(resolved.prefix);
  const connection = openConnection(resolved, options.connection);
  const streams = createStreams(connection, names, resolved);
  const deadLetters = createDeadLetters(streams, names, resolved.clock);
  const capabilities: TransportCapabilities = Object.freeze({
    ...NATS_CAPABILITIES,
    maxMessageBytes: resolved.maxMessageBytes,
  });

  const consumers = new Set<TransportConsumer>();
  let accepting = true;
  let closed = false;
  let closing: Promise<void> | undefined;

  const ensureOpen = (what: string, open: boolean): void => {
    if (!open) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: the nats transport is closed. Create a new transport.`,
      );
    }
  };

  const checkChannel = (where: string, channel: string): void => {
    if (names.channelStream(channel).length - names.channelStream('').length > MAX_ESCAPED_CHANNEL) {
      throw invalidOptions(where, [
        `channel ${JSON.stringify(channel.slice(0, 40))}… is too long for a stream name; use a shorter channel name`,
      ]);
    }
  };

  const publishOne = async (channel: string, message: TransportMessage): Promise<void> => {
    const { js } = await streams.client();
    const nc = connection.current('publish');
    const { headers, data, headerBytes } = toNatsMessage(
      message,
      dedupableId(message.id) ? message.id : undefined,
    );
    const maxPayload = nc.info?.max_payload;
    // The server's limit counts headers too; say so plainly instead of the client's protocol error.
    if (maxPayload !== undefined && data.byteLength + headerBytes > maxPayload) {
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `Message ${message.id} takes ${data.byteLength + headerBytes} bytes with its headers; the ` +
          `NATS server accepts at most ${maxPayload} (max_payload). Publish a reference to large data, or raise ` +
          'max_payload on the server and maxMessageBytes here.',
        { details: { id: message.id, max: maxPayload } },
      );
    }
    // A publish under way when the connection drops fails at once, rather than when its request times out.
    await connection.whileUp(
      'publish',
      js.publish(names.topicSubject(channel, message.topic), data, { headers }),
    );
  };

  const transport: NatsTransport = {
    name: 'nats',
    capabilities,
    deadLetters: deadLetters.storage,
    connection: () => connection.ready(),
    doctor: () => runDoctorChecks({ connection, streams, names, options: resolved }),

    async publish(channel, messages) {
      ensureOpen('publish', !closed);
      checkPublish('natsTransport', channel, messages, resolved.maxMessageBytes);
      checkChannel('natsTransport.publish', channel);
      if (messages.length === 0) return;
      await connection.ready();
      connection.current('publish');
      try {
        await streams.ensureChannel(channel);
        // Every message in flight at once; the batch resolves when JetStream acknowledged them all.
        const results = await Promise.allSettled(messages.map((message) => publishOne(channel, message)));
        const failed = results.find((result) => result.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      } catch (error) {
        // A stream deleted under a running transport: make it again on the next publish.
        if ((error as { name?: string } | null)?.name === 'NoRespondersError') streams.forget(channel);
        throw translate(error, `publishing to ${channel}`);
      }
    },

    async consume(consumeOptions, handler) {
      ensureOpen('consume', accepting);
      checkConsumeOptions(consumeOptions, handler);
      checkChannel('natsTransport.consume', consumeOptions.channel);
      await connection.ready().catch((error: unknown) => {
        throw translate(error, 'connecting');
      });
      const consumer = await startConsumer(
        {
          connection,
          names,
          options: resolved,
          streams,
          deadLetters,
          closed: () => closed,
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
        await connection.close().catch(() => undefined);
      })();
      return closing;
    },
  };
  return transport;
}
