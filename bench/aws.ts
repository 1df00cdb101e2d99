import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, PublishBatchCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { awsTransport } from '@tidings/aws';
import { createCatalog, defineEvent, toTransportMessage, type TransportMessage } from '@tidings/core';
import { z } from 'zod';

/**
 * The AWS benchmark: Tidings' SNS/SQS transport beside the raw SDK doing the same batched work against
 * the emulator on 127.0.0.1:4566 (`bash .ci/fauxqs/ensure.sh`): publishing in PublishBatch calls of 10,
 * 8 in flight, and receiving 10 at a time with 8 receives in flight, deleting in batches.
 */

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ENDPOINT = process.env.TIDINGS_AWS_ENDPOINT ?? 'http://127.0.0.1:4566';
const CONFIG = {
  endpoint: ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
};
const MESSAGES = 4_000;
const WARM_UP = 400;
const BATCH = 10;
const IN_FLIGHT = 8;

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  schema: z.object({ orderId: z.string(), total: z.number() }),
});
createCatalog({ events: [OrderPlaced] });

const messages = (count: number): TransportMessage[] =>
  Array.from({ length: count }, (_, i) =>
    toTransportMessage(OrderPlaced.create({ orderId: `o-${i}`, total: i % 500 }, { subject: `o-${i}` })),
  );

/** Runs `lanes` workers over `count` items in chunks of `size`. */
async function lanes(count: number, size: number, work: (start: number, end: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const start = next;
        next += size;
        await work(start, Math.min(count, start + size));
      }
    }),
  );
}

// The peer: the SDK on its own, sending what the transport sends (body, topic and a meta attribute).
async function rawPublish(sns: SNSClient, topicArn: string, batch: readonly TransportMessage[]) {
  await lanes(batch.length, BATCH, async (start, end) => {
    await sns.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: batch.slice(start, end).map((m, i) => ({
          Id: `m${i}`,
          Message: Buffer.from(m.body).toString('utf8'),
          MessageAttributes: {
            topic: { DataType: 'String', StringValue: m.topic },
            tidings: {
              DataType: 'String',
              StringValue: JSON.stringify({ id: m.id, key: m.key, headers: m.headers }),
            },
          },
        })),
      }),
    );
  });
}

async function rawConsume(sqs: SQSClient, queueUrl: string, count: number): Promise<void> {
  let done = 0;
  const deletes: Promise<unknown>[] = [];
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (done < count) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: BATCH,
            WaitTimeSeconds: 1,
            VisibilityTimeout: 30,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        const received = out.Messages ?? [];
        if (received.length === 0) continue;
        for (const m of received) JSON.parse(m.Body ?? '{}');
        // The delete goes out while this worker receives again, as Tidings settles acks in batches
        // beside its receives: the peer does the same work, not less overlapped.
        deletes.push(
          sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: received.map((m, i) => ({ Id: `e${i}`, ReceiptHandle: m.ReceiptHandle })),
            }),
          ),
        );
        done += received.length;
      }
    }),
  );
  await Promise.all(deletes);
}

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`bench: waited 30 s for ${what}`);
}

/** One round of both sides on fresh topics and queues; returns messages per second. */
async function round(count: number, sqs: SQSClient, sns: SNSClient) {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const transport = awsTransport({ ...CONFIG, prefix, waitTimeSeconds: 1 });
  try {
    // Tidings: its own group queue, subscribed by the transport.
    const tidingsConsumer = await transport.consume(
      {
        channel: 'orders',
        group: 'tidings',
        topics: ['OrderPlaced'],
        concurrency: 1,
        ordered: false,
        leaseMs: 30_000,
      },
      (delivery) => delivery.nack(),
    );
    await tidingsConsumer.close();
    // The peer: a queue of its own on a topic of its own, subscribed with raw delivery.
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `${prefix}-raw` }));
    const { QueueUrl: rawQueue = '' } = await sqs.send(
      new CreateQueueCommand({ QueueName: `${prefix}-raw-q` }),
    );
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: rawQueue, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: Attributes.QueueArn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    const { QueueUrls = [] } = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: `${prefix}-orders-tidings` }),
    );
    const tidingsQueue = QueueUrls[0] ?? '';

    const sent = messages(count);
    let started = performance.now();
    await rawPublish(sns, TopicArn ?? '', sent);
    const rawPublishS = (performance.now() - started) / 1000;
    started = performance.now();
    await transport.publish('orders', sent);
    const tidingsPublishS = (performance.now() - started) / 1000;
    await until(
      async () => (await depth(sqs, rawQueue)) >= count && (await depth(sqs, tidingsQueue)) >= count,
      'both queues to fill',
    );

    started = performance.now();
    await rawConsume(sqs, rawQueue, count);
    const rawConsumeS = (performance.now() - started) / 1000;

    let acked = 0;
    let finish: () => void = () => undefined;
    const all = new Promise<void>((resolve) => {
      finish = resolve;
    });
    started = performance.now();
    const consumer = await transport.consume(
      {
        channel: 'orders',
        group: 'tidings',
        topics: ['OrderPlaced'],
        concurrency: BATCH * IN_FLIGHT,
        ordered: false,
        leaseMs: 30_000,
      },
      async (delivery) => {
        JSON.parse(Buffer.from(delivery.message.body).toString('utf8'));
        await delivery.ack();
        acked += 1;
        if (acked === count) finish();
      },
    );
    await all;
    const tidingsConsumeS = (performance.now() - started) / 1000;
    await consumer.close();
    await sqs.send(new DeleteQueueCommand({ QueueUrl: rawQueue }));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: tidingsQueue }));
    return {
      publish: { tidings: count / tidingsPublishS, peer: count / rawPublishS },
      consume: { tidings: count / tidingsConsumeS, peer: count / rawConsumeS },
    };
  } finally {
    await transport.close();
  }
}

/** Runs the AWS benchmark once and returns its cases; needs the emulator. */
export async function benchAws(): Promise<{ endpoint: string; messages: number; cases: object[] }> {
  const sqs = new SQSClient(CONFIG);
  const sns = new SNSClient(CONFIG);
  try {
    await sqs.send(new GetQueueUrlCommand({ QueueName: 'tidings-bench-probe' })).catch((error: unknown) => {
      if (
        error instanceof Error &&
        /ECONNREFUSED/.test(`${error.message} ${String((error as { code?: string }).code)}`)
      )
        throw new Error(`No SNS/SQS endpoint at ${ENDPOINT}: start it with \`bash .ci/fauxqs/ensure.sh\`.`, {
          cause: error,
        });
    });
    await round(WARM_UP, sqs, sns);
    const result = await round(MESSAGES, sqs, sns);
    const row = (name: string, figures: { tidings: number; peer: number }, peer: string) => ({
      name,
      peer,
      unit: 'messages/s',
      tidings_ops_s: Math.round(figures.tidings),
      peer_ops_s: Math.round(figures.peer),
      ratio: Number((figures.tidings / figures.peer).toFixed(2)),
      target: '>= 0.8',
    });
    const cases = [
      row('publish (PublishBatch of 10, 8 in flight)', result.publish, '@aws-sdk/client-sns PublishBatch'),
      row(
        'receive + delete (10 per receive, 8 in flight)',
        result.consume,
        '@aws-sdk/client-sqs Receive + DeleteMessageBatch',
      ),
    ];
    for (const c of cases)
      console.log(`${c.name}: tidings ${c.tidings_ops_s}/s, raw SDK ${c.peer_ops_s}/s, ratio ${c.ratio}`);
    return { endpoint: ENDPOINT, messages: MESSAGES, cases };
  } finally {
    sqs.destroy();
    sns.destroy();
  }
}
