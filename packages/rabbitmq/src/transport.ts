import { checkPublish, invalidOptions, TidingsError } from '@tidings/core';
import type {
  DeadLetterStorage,
  DoctorFinding,
  Transport,
  TransportCapabilities,
  TransportConsumer,
} from '@tidings/core';
import { type Connection, isConnectionError, openConnection, unavailable } from './client.ts';
import { startConsumer } from './consumer.ts';
import { createDeadLetters } from './dead-letters.ts';
import { type RabbitmqDoctorGroup, runChecks } from './doctor.ts';
import { encodeMessage, namesFor } from './mapping.ts';
import { channelProblems, checkConsumeOptions, resolveTransportOptions, topicProblems } from './options.ts';
import type { RabbitmqTransportOptions } from './options.ts';
import { createDeclared, declareExchange, explainDeclareError } from './topology.ts';

/** The largest body the rabbitmq transport accepts: 64 MiB (RabbitMQ's own default limit is 128 MiB). */
export const RABBITMQ_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** What the rabbitmq transport promises; see docs/transports/rabbitmq.md. */
export const RABBITMQ_CAPABILITIES: TransportCapabilities = Object.freeze({
  persistent: true,
  consumerGroups: true,
  ordering: 'none',
  delayedDelivery: true,
  deliveryCounter: true,
  leases: false,
  duplicates: 'only-after-failure',
  maxMessageBytes: RABBITMQ_MAX_MESSAGE_BYTES,
});

/** The rabbitmq transport: a {@link Transport} with doctor checks. */
export interface RabbitmqTransport extends Transport {
  /**
   * Checks the broker against what the transport promises: connection, alarms, version, the queues of
   * the groups this transport consumed and of `groups`, the dead-letter stream; says what AMQP cannot
   * read. Never changes anything.
   */
  doctor(options?: { groups?: readonly RabbitmqDoctorGroup[] }): Promise<readonly DoctorFinding[]>;
}

/**
 * The RabbitMQ transport: a durable topic exchange per channel (routing key = topic), a durable quorum
 * queue per group, publisher confirms, persistent messages. A nack re-publishes the message to its
 * group's queue only (at once, or through a delay bucket: a queue with a message TTL that dead-letters
 * back by routing key), then acks the original. Dead letters live in a stream, which can be browsed.
 *
 * `publish` resolves once RabbitMQ confirmed every message; while the broker is unreachable it fails at
 * once with `TIDINGS_UNAVAILABLE`, and the connection and consumers come back by themselves.
 *
 * @example
 * const transport = rabbitmqTransport({ url: 'amqp://guest:guest@127.0.0.1:5672' });
 * const bus = createBus({ catalog, transport });
 * // …
 * await transport.close(); // drains consumers, then disconnects
 */
export function rabbitmqTransport(options: RabbitmqTransportOptions = {}): RabbitmqTransport {
  const resolved = resolveTransportOptions(options);
  const names = namesFor(resolved.prefix);
  const declared = createDeclared();
  const opening: Promise<Connection> = openConnection(resolved);
  // Reported where it is awaited; this keeps an early failure from being unhandled meanwhile.
  opening.catch(() => undefined);
  const connectionFor = async (what: string): Promise<Connection> => {
    try {
      return await opening;
    } catch (error) {
      throw unavailable(what, `could not set up the connection (${String(error)})`, error);
    }
  };

  const consumers = new Set<TransportConsumer>();
  const groups = new Map<string, RabbitmqDoctorGroup>();
  let accepting = true;
  let closed = false;
  let closing: Promise<void> | undefined;

  const ensureOpen = (what: string, open: boolean): void => {
    if (!open)
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: the rabbitmq transport is closed. Create a new transport.`,
      );
  };

  const lazyDeadLetters = (async () => {
    const connection = await opening;
    return createDeadLetters(connection, names, resolved.clock, declared);
  })();
  lazyDeadLetters.catch(() => undefined);
  const deadLettersFor = async (what: string) => {
    await connectionFor(what);
    return lazyDeadLetters;
  };

  const storage: DeadLetterStorage = {
    list: async (query) => (await deadLettersFor('list dead letters')).storage.list(query),
    get: async (id) => (await deadLettersFor('get a dead letter')).storage.get(id),
    replay: async (id) => (await deadLettersFor('replay a dead letter')).storage.replay(id),
    discard: async (ids) => (await deadLettersFor('discard dead letters')).storage.discard(ids),
    depth: async () => (await deadLettersFor('count dead letters')).storage.depth(),
  };

  const transport: RabbitmqTransport = {
    name: 'rabbitmq',
    capabilities: RABBITMQ_CAPABILITIES,
    deadLetters: storage,

    async publish(channel, messages) {
      ensureOpen('publish', !closed);
      checkPublish('rabbitmqTransport', channel, messages, RABBITMQ_MAX_MESSAGE_BYTES);
      const problems = [
        ...channelProblems(channel),
        ...messages.flatMap((m) => topicProblems(m.topic, false)),
      ];
      if (problems.length > 0) throw invalidOptions('rabbitmqTransport.publish', problems);
      if (messages.length === 0) return;
      const connection = await connectionFor('publish');
      const exchange = names.exchange(channel);
      const outgoing = messages.map((message) => {
        const { content, properties } = encodeMessage(message);
        return { exchange, routingKey: message.topic, content, options: properties };
      });
      // Publishing to a missing exchange closes the channel, so the exchange is declared first (once per
      // connection). With no group bound yet the exchange drops the messages: a group receives what is
      // published after it first consumed, as on every transport.
      await connection.publish('publish', outgoing, async (publisher) => {
        const model = connection.current();
        try {
          if (model === undefined) await declareExchange(publisher, names, channel);
          else
            await declared.once(model, `exchange:${exchange}`, () =>
              declareExchange(publisher, names, channel),
            );
        } catch (error) {
          if (isConnectionError(error))
            throw unavailable('publish', `could not declare exchange ${exchange}`, error);
          throw explainDeclareError(error, `publish to exchange ${exchange}`);
        }
      });
    },

    async consume(consumeOptions, handler) {
      ensureOpen('consume', accepting);
      checkConsumeOptions(consumeOptions, handler, resolved.prefix);
      const connection = await connectionFor('consume');
      const dl = await lazyDeadLetters;
      const consumer = await startConsumer(
        {
          connection,
          names,
          options: resolved,
          deadLetters: dl,
          declared,
          forget: (done) => consumers.delete(done),
        },
        consumeOptions,
        handler,
      );
      groups.set(names.queue(consumeOptions.channel, consumeOptions.group), {
        channel: consumeOptions.channel,
        group: consumeOptions.group,
      });
      consumers.add(consumer);
      return consumer;
    },

    async doctor(doctorOptions = {}) {
      ensureOpen('run the doctor', !closed);
      const connection = await connectionFor('run the doctor');
      return runChecks(
        { connection, names, retryBudget: resolved.retryBudget, groups: () => [...groups.values()] },
        doctorOptions.groups ?? [],
      );
    },

    close() {
      accepting = false;
      closing ??= (async () => {
        await Promise.all([...consumers].map((consumer) => consumer.close()));
        closed = true;
        const connection = await opening.catch(() => undefined);
        await connection?.close().catch(() => undefined);
      })();
      return closing;
    },
  };
  return transport;
}
