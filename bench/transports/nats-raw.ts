import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { readPayload } from './common.ts';
import type { RawClient, RawConsumer } from './raw.ts';

/**
 * @nats-io/jetstream on its own: one file-backed stream for the namespace, a publish awaits the PubAck
 * of every message (sent with its msgID, a batch in parallel), a consumer is a durable pull consumer
 * per stream name that fetches up to `concurrency` and acks each message.
 */
export async function rawNats(servers: string, namespace: string): Promise<RawClient> {
  const nc = await connect({ servers });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const streamName = `${namespace}_RAW`;
  await jsm.streams.add({ name: streamName, subjects: [`${namespace}.raw.>`], storage: StorageType.File });
  const subject = (stream: string): string => `${namespace}.raw.${stream}`;

  return {
    peer: '@nats-io/jetstream: publish with msgID awaiting PubAcks / pull consumer + ack',
    async publish(stream, messages) {
      await Promise.all(
        messages.map((message) => {
          const h = natsHeaders();
          for (const [name, value] of Object.entries(message.headers)) h.set(name, value);
          return js.publish(subject(stream), message.body, { msgID: message.id, headers: h });
        }),
      );
    },
    async consume(stream, concurrency, onMessage): Promise<RawConsumer> {
      const durable = `raw_${stream.replaceAll(/\W/g, '_')}`;
      await jsm.consumers.add(streamName, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        filter_subject: subject(stream),
        max_ack_pending: concurrency * 10,
      });
      const consumer = await js.consumers.get(streamName, durable);
      const messages = await consumer.consume({ max_messages: concurrency });
      const loop = (async () => {
        for await (const m of messages) {
          const id = m.headers?.get('Nats-Msg-Id') ?? '';
          // Read the headers and the body, as a handler would.
          m.headers?.keys();
          readPayload(m.data);
          m.ack();
          onMessage(id);
        }
      })();
      return {
        async stop() {
          await messages.close();
          await loop;
        },
      };
    },
    async close() {
      await jsm.streams.delete(streamName);
      await nc.close();
    },
  };
}
