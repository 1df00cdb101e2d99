import amqp from 'amqplib';
import { readPayload } from './common.ts';
import type { RawClient, RawConsumer } from './raw.ts';

/**
 * amqplib on its own: one durable quorum queue per stream, a publish sends persistent messages on a
 * confirm channel and awaits the broker's confirm of each, a consumer uses basic.consume with a
 * prefetch of `concurrency` and acks each message.
 */
export async function rawRabbitmq(url: string, namespace: string): Promise<RawClient> {
  const connection = await amqp.connect(url);
  const publisher = await connection.createConfirmChannel();
  const queues = new Map<string, Promise<unknown>>();
  const queue = (stream: string): string => `${namespace}.raw.${stream}`;
  const ensure = (stream: string): Promise<unknown> => {
    let made = queues.get(stream);
    if (made === undefined) {
      made = publisher.assertQueue(queue(stream), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      queues.set(stream, made);
    }
    return made;
  };

  return {
    peer: 'amqplib: confirm channel, persistent to a quorum queue / basic.consume with prefetch + ack',
    async publish(stream, messages) {
      await ensure(stream);
      await Promise.all(
        messages.map(
          (message) =>
            new Promise<void>((resolve, reject) => {
              publisher.sendToQueue(
                queue(stream),
                Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
                {
                  persistent: true,
                  messageId: message.id,
                  type: message.topic,
                  headers: { ...message.headers },
                  contentType: 'application/json',
                },
                (error: unknown) =>
                  error == null
                    ? resolve()
                    : reject(
                        error instanceof Error
                          ? error
                          : new Error('the broker refused the message (basic.nack)'),
                      ),
              );
            }),
        ),
      );
    },
    async consume(stream, concurrency, onMessage): Promise<RawConsumer> {
      await ensure(stream);
      const channel = await connection.createChannel();
      await channel.prefetch(concurrency);
      const { consumerTag } = await channel.consume(queue(stream), (message) => {
        if (message === null) return;
        // Read the headers and the body, as a handler would.
        Object.keys(message.properties.headers ?? {});
        readPayload(message.content);
        channel.ack(message);
        onMessage(String(message.properties.messageId));
      });
      return {
        async stop() {
          await channel.cancel(consumerTag);
          await channel.close();
        },
      };
    },
    async close() {
      for (const stream of queues.keys()) await publisher.deleteQueue(queue(stream));
      await publisher.close();
      await connection.close();
    },
  };
}
