import { checkPublish, invalidOptions, TidingsError } from '@tidings/core';
import type { DoctorFinding, Transport, TransportCapabilities } from '@tidings/core';
import { makeClients } from './client.ts';
import { type AwsConsumer, startConsumer } from './consumer.ts';
import { createDeadLetters } from './dead-letters.ts';
import { type AwsDoctorGroup, type AwsDoctorOptions, runChecks } from './doctor.ts';
import { createFailureHistory } from './history.ts';
import { acceptedText, namesFor } from './mapping.ts';
import { checkConsumeOptions, resolveTransportOptions } from './options.ts';
import type { AwsTransportOptions } from './options.ts';
import { encodeAll, publishTo } from './publish.ts';
import { createSettler } from './settler.ts';
import { createTopology } from './topology.ts';

/**
 * The largest body the aws transport accepts: 240 KiB, leaving 16 KiB of SNS's 256 KiB for headers.
 * A message whose body and headers together pass 256 KiB is refused at publish.
 */
export const AWS_MAX_MESSAGE_BYTES = 240 * 1024;

const BASE = {
  persistent: true,
  consumerGroups: true,
  delayedDelivery: true,
  deliveryCounter: true,
  leases: true,
  maxMessageBytes: AWS_MAX_MESSAGE_BYTES,
} as const;

/** What the aws transport promises on standard topics and queues: no order, and SQS may duplicate. */
export const AWS_CAPABILITIES: TransportCapabilities = Object.freeze({
  ...BASE,
  ordering: 'none',
  duplicates: 'possible',
});

/** What the aws transport promises with `fifo: true`: per-subject order, deduplicated publishes. */
export const AWS_FIFO_CAPABILITIES: TransportCapabilities = Object.freeze({
  ...BASE,
  ordering: 'per-subject',
  duplicates: 'only-after-failure',
});

/** The aws transport: a {@link Transport} with doctor checks. */
export interface AwsTransport extends Transport {
  /**
   * Checks the queues of the groups this transport consumed, and of `groups`, against what the
   * transport promises: redrive `maxReceiveCount` against the retry budget, visibility timeout against
   * the handler timeout, the queue policy SNS needs, the subscription, the dead-letter queue. Never
   * changes anything.
   */
  doctor(options?: AwsDoctorOptions): Promise<readonly DoctorFinding[]>;
}

/**
 * The AWS transport: an SNS topic per channel, an SQS queue per group subscribed to it with raw
 * delivery and the group's topics as a filter policy; FIFO topics and queues with `fifo: true`. A
 * delivery's lease is the message's visibility timeout, `touch` extends it, a nack changes it (at once,
 * or after the delay), `ApproximateReceiveCount` is the attempt. Dead letters live in one SQS FIFO
 * queue per prefix, which the dead-letter tools read whole.
 *
 * @example
 * const transport = awsTransport({ region: 'eu-west-1', prefix: 'shop' });
 * const bus = createBus({ catalog, transport });
 * // against an emulator: awsTransport({ endpoint: 'http://127.0.0.1:4566', region: 'us-east-1',
 * //   credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
 * await transport.close(); // drains consumers, then destroys the clients
 */
export function awsTransport(options: AwsTransportOptions = {}): AwsTransport {
  const resolved = resolveTransportOptions(options);
  const clients = makeClients(resolved);
  const names = namesFor(resolved.prefix, resolved.fifo);
  const topology = createTopology(clients, names, resolved.fifo, resolved.filterPolicy);
  const settler = createSettler(clients.sqs);
  const history = createFailureHistory();
  const deadLetters = createDeadLetters(
    clients,
    names,
    topology,
    resolved.clock,
    resolved.fifo,
    resolved.deadLetterReadWaitSeconds,
  );
  const consumers = new Set<AwsConsumer>();
  const finished = new Set<Promise<void>>();
  const groups = new Map<string, AwsDoctorGroup>();
  let accepting = true;
  let closed = false;
  let closing: Promise<void> | undefined;

  const ensureOpen = (what: string, open: boolean): void => {
    if (!open)
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: the aws transport is closed. Create a new transport.`,
      );
  };

  const transport: AwsTransport = {
    name: 'aws',
    capabilities: resolved.fifo ? AWS_FIFO_CAPABILITIES : AWS_CAPABILITIES,
    deadLetters: deadLetters.storage,

    async publish(channel, messages) {
      ensureOpen('publish', !closed);
      checkPublish('awsTransport', channel, messages, AWS_MAX_MESSAGE_BYTES);
      const problems = messages
        .filter((m) => !acceptedText(m.topic))
        .map((m) => `messages[${messages.indexOf(m)}].topic holds characters SNS refuses in attributes`);
      if (problems.length > 0) throw invalidOptions('awsTransport.publish', problems);
      if (messages.length === 0) return;
      const outgoing = encodeAll(messages);
      // With no queue subscribed yet SNS drops the messages: a group receives what is published after
      // it first consumed, as on every transport.
      const topicArn = await topology.topicArn(channel);
      await publishTo(clients, topicArn, outgoing, resolved.fifo);
    },

    async consume(consumeOptions, handler) {
      ensureOpen('consume', accepting);
      checkConsumeOptions(consumeOptions, handler, resolved.fifo);
      const setup = await topology.group(consumeOptions.channel, consumeOptions.group, consumeOptions.topics);
      ensureOpen('consume', accepting);
      const consumer = startConsumer(
        {
          clients,
          options: resolved,
          settler,
          deadLetters,
          history,
          setup,
          forget: (done) => consumers.delete(done),
        },
        consumeOptions,
        handler,
      );
      groups.set(setup.queueUrl, { channel: consumeOptions.channel, group: consumeOptions.group });
      consumers.add(consumer);
      finished.add(consumer.finished);
      void consumer.finished.finally(() => finished.delete(consumer.finished));
      return consumer;
    },

    async doctor(doctorOptions = {}) {
      ensureOpen('run the doctor', !closed);
      return runChecks(
        {
          clients,
          names,
          topology,
          fifo: resolved.fifo,
          retryBudget: resolved.retryBudget,
          known: () => [...groups.values()],
        },
        doctorOptions,
      );
    },

    close() {
      accepting = false;
      closing ??= (async () => {
        await Promise.all([...consumers].map((consumer) => consumer.close()));
        // A long poll started before close may still be out; its messages are handed back when it returns.
        await Promise.all([...finished]);
        await settler.drain();
        closed = true;
        clients.close();
      })();
      return closing;
    },
  };
  return transport;
}
