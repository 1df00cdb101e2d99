import { PublishBatchCommand, type PublishBatchRequestEntry } from '@aws-sdk/client-sns';
import { TidingsError, type TransportMessage } from '@tidings/core';
import { type Clients, explain } from './client.ts';
import { type Encoded, encodeMessage, fifoFields, SNS_MAX_BYTES } from './mapping.ts';

/** PublishBatch takes ten entries, 256 KiB together, per call. */
const MAX_ENTRIES = 10;
/** Batches of one publish in flight at once (standard topics; FIFO batches go one after another). */
const IN_FLIGHT = 8;
/** How often entries SNS failed on its side are sent again before the publish fails. */
const RETRIES = 3;

/** A message encoded for SNS, with its place in the publish. @internal */
export interface Outgoing {
  readonly message: TransportMessage;
  readonly encoded: Encoded;
}

/**
 * Encodes every message, refusing the publish whole when one is too large for SNS with its headers.
 *
 * @throws TidingsError `TIDINGS_UNSUPPORTED` naming the message and its size.
 * @internal
 */
export function encodeAll(messages: readonly TransportMessage[]): Outgoing[] {
  return messages.map((message) => {
    const encoded = encodeMessage(message);
    if (encoded.bytes > SNS_MAX_BYTES)
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `Message ${message.id} is ${encoded.bytes} bytes with its headers (base64 for a binary body); SNS ` +
          `accepts at most ${SNS_MAX_BYTES}. Store large payloads elsewhere and publish a reference.`,
        { details: { id: message.id, bytes: encoded.bytes, max: SNS_MAX_BYTES } },
      );
    return { message, encoded };
  });
}

/** Splits messages into PublishBatch calls: ten at most, 256 KiB together at most. @internal */
export function batches(outgoing: readonly Outgoing[]): Outgoing[][] {
  const out: Outgoing[][] = [];
  let current: Outgoing[] = [];
  let bytes = 0;
  for (const one of outgoing) {
    if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + one.encoded.bytes > SNS_MAX_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(one);
    bytes += one.encoded.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function entry(one: Outgoing, id: string, fifo: boolean): PublishBatchRequestEntry {
  return {
    Id: id,
    Message: one.encoded.body,
    MessageAttributes: one.encoded.attributes,
    ...(fifo ? fifoFields(one.message) : {}),
  };
}

/** Publishes one batch, sending again the entries SNS failed on its side. */
async function publishBatch(clients: Clients, topicArn: string, batch: readonly Outgoing[], fifo: boolean) {
  let pending = batch.map((one, i) => ({ one, id: `m${i}` }));
  for (let round = 0; pending.length > 0; round += 1) {
    let out;
    try {
      out = await clients.sns.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: pending.map(({ one, id }) => entry(one, id, fifo)),
        }),
      );
    } catch (error) {
      throw explain(`publish ${pending.length} messages to ${topicArn}`, error);
    }
    const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
    const refused = [...failed.values()].find((f) => f.SenderFault === true);
    if (refused !== undefined)
      throw new TidingsError(
        'TIDINGS_INVALID_OPTIONS',
        `SNS refused a message published to ${topicArn}: ${refused.Code ?? 'error'} (${refused.Message ?? ''}).`,
      );
    pending = pending.filter(({ id }) => failed.has(id));
    if (pending.length > 0 && round >= RETRIES)
      throw new TidingsError(
        'TIDINGS_UNAVAILABLE',
        `SNS did not accept ${pending.length} messages for ${topicArn} after ${RETRIES + 1} tries ` +
          `(${failed.get(pending[0]?.id ?? '')?.Code ?? 'error'}). Publish them again later.`,
      );
  }
}

/**
 * Publishes to a topic in PublishBatch calls: up to eight at once on a standard topic, one after
 * another on a FIFO topic (so that a subject keeps its order across batches). Resolves once SNS has
 * accepted every message; SNS cannot take a batch all or nothing, so a failure may leave some published.
 *
 * @internal
 */
export async function publishTo(
  clients: Clients,
  topicArn: string,
  outgoing: readonly Outgoing[],
  fifo: boolean,
): Promise<void> {
  const queue = batches(outgoing);
  const lanes = fifo ? 1 : Math.min(IN_FLIGHT, queue.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < queue.length) {
        const batch = queue[next] as Outgoing[];
        next += 1;
        await publishBatch(clients, topicArn, batch, fifo);
      }
    }),
  );
}
