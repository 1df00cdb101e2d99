import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import type { ConsumeOptions, Delivery, DeliveryHandler, TransportConsumer } from '@tidings/core';
import { handlerRuns } from '@tidings/core';
import type { Connection } from './client.ts';
import type { DeadLetters } from './dead-letters.ts';
import { amqpHeaders, decodeMessage, delayBucket, historyOf, type Names, retryHeaders } from './mapping.ts';
import type { RabbitmqErrorContext, ResolvedTransportOptions } from './options.ts';
import { declareDelay, declareGroup, type Declared, explainDeclareError } from './topology.ts';

/** What a consumer borrows from its transport. @internal */
export interface ConsumerContext {
  readonly connection: Connection;
  readonly names: Names;
  readonly options: ResolvedTransportOptions;
  readonly deadLetters: DeadLetters;
  readonly declared: Declared;
  /** Called once the consumer has closed. */
  readonly forget: (consumer: TransportConsumer) => void;
}

/** One channel consuming the group's queue; its unacked deliveries return to the queue when it closes. */
interface Attachment {
  readonly model: ChannelModel;
  readonly channel: Channel;
  tag: string;
  lost: boolean;
}

interface Held {
  readonly attachment: Attachment;
  readonly raw: ConsumeMessage;
  settled: boolean;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** The longest a close waits for the broker to answer a cancel or a channel close (a dead peer never does). */
const BROKER_REPLY_MS = 5_000;

/** Waits for `work`, but no longer than `ms`; failures are ignored (the channel is being left anyway). */
async function within(work: () => Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.resolve()
      .then(work)
      .catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * Starts one consumer: a channel of its own with prefetch = concurrency, consuming the group's quorum
 * queue with manual acks. When the channel or the connection goes away, whatever this consumer held
 * returns to the queue (and its `x-delivery-count` grows); the consumer declares its queue again and
 * goes on as soon as the connection is back.
 *
 * @internal
 */
export async function startConsumer(
  context: ConsumerContext,
  consume: ConsumeOptions,
  handler: DeliveryHandler,
): Promise<TransportConsumer> {
  const { connection, names, options } = context;
  const { channel: channelName, group, concurrency } = consume;
  const topics = [...new Set(consume.topics)];
  const queue = names.queue(channelName, group);
  const stop = new AbortController();
  const inFlight = new Set<Held>();
  let current: Attachment | undefined;
  let stopping = false;
  let reattaching = false;
  let closing: Promise<void> | undefined;

  function report(error: unknown, where: RabbitmqErrorContext['where'], messageId?: string): void {
    try {
      options.onError(error, { where, channel: channelName, group, messageId });
    } catch {
      // A throwing error reporter must not stop the consumer.
    }
  }
  const runs = handlerRuns(handler, report);

  /** The deliveries of a channel that went away are no longer ours to settle: the broker took them back. */
  const lose = (attachment: Attachment): void => {
    attachment.lost = true;
    for (const held of inFlight) {
      if (held.attachment === attachment) {
        held.settled = true;
        inFlight.delete(held);
      }
    }
  };

  const settle = async (held: Held, work: (channel: Channel) => Promise<void>): Promise<void> => {
    if (held.settled || held.attachment.lost) return;
    held.settled = true;
    inFlight.delete(held);
    await work(held.attachment.channel);
  };

  /** Acks on the delivery's channel; a closed channel already gave the message back, so nothing to do. */
  const ackOn = (channel: Channel, raw: ConsumeMessage): void => {
    try {
      channel.ack(raw);
    } catch {
      // The channel closed: the broker redelivers the message, as after any lost connection.
    }
  };
  const requeueOn = (channel: Channel, raw: ConsumeMessage): void => {
    try {
      channel.nack(raw, false, true);
    } catch {
      // As above: a closed channel has returned it already.
    }
  };

  const makeDelivery = (held: Held): Delivery => {
    const { raw } = held;
    const table = amqpHeaders(raw);
    const history = historyOf(table);
    const message = decodeMessage(raw);
    return {
      message,
      group,
      attempt: history.attempt,
      firstFailedAt: history.firstFailedAt,
      previousTries: history.previousTries,
      ack: () =>
        settle(held, (channel) => {
          ackOn(channel, raw);
          return Promise.resolve();
        }),
      nack: (nackOptions = {}) =>
        settle(held, async (channel) => {
          const now = options.clock.now();
          const tries =
            nackOptions.tries !== undefined && Number.isInteger(nackOptions.tries)
              ? Math.max(0, nackOptions.tries)
              : 1;
          const headers = retryHeaders(table, {
            attempt: history.attempt,
            previousTries: history.previousTries + tries,
            firstFailedAt: history.firstFailedAt ?? nackOptions.failedAt ?? now,
          });
          const delay = nackOptions.delayMs;
          const bucket = delay !== undefined && Number.isFinite(delay) && delay > 0 ? delayBucket(delay) : 0;
          const properties: Options.Publish = { persistent: true, headers };
          const { messageId, type, contentType } = raw.properties as unknown as Record<string, unknown>;
          if (typeof messageId === 'string') properties.messageId = messageId;
          if (typeof type === 'string') properties.type = type;
          if (typeof contentType === 'string') properties.contentType = contentType;
          try {
            // Only this group's queue gets the copy: straight through the default exchange, or through
            // a delay bucket whose expired messages go back to the default exchange by routing key.
            await connection.publish(
              'nack a delivery',
              [
                {
                  exchange: bucket > 0 ? names.delay(bucket) : '',
                  routingKey: queue,
                  content: raw.content,
                  options: properties,
                },
              ],
              bucket > 0
                ? (publisher) =>
                    context.declared.once(held.attachment.model, names.delay(bucket), () =>
                      declareDelay(publisher, names, bucket),
                    )
                : undefined,
            );
          } catch (error) {
            // The copy was not confirmed: return the original instead, so nothing is lost (the delay is).
            report(error, 'settle', message.id);
            requeueOn(channel, raw);
            return;
          }
          ackOn(channel, raw);
        }),
      deadLetter: (failure) =>
        settle(held, async (channel) => {
          try {
            await context.deadLetters.add({ channel: channelName, group, message, failure });
          } catch (error) {
            requeueOn(channel, raw);
            throw error;
          }
          ackOn(channel, raw);
        }),
      // RabbitMQ has no per-message lease: a delivery stays with its channel until settled or closed.
      touch: () => Promise.resolve(),
    };
  };

  const dispatch = (held: Held): void => {
    inFlight.add(held);
    const delivery = makeDelivery(held);
    runs.start(delivery, delivery.message.id);
  };

  const onMessage = (attachment: Attachment, raw: ConsumeMessage | null): void => {
    if (raw === null) {
      // The broker cancelled the consumer (its queue was deleted): start over on a new channel.
      void attachment.channel.close().catch(() => undefined);
      return;
    }
    if (stopping || attachment.lost) {
      requeueOn(attachment.channel, raw);
      return;
    }
    dispatch({ attachment, raw, settled: false });
  };

  const attach = async (model: ChannelModel): Promise<void> => {
    const channel = await model.createChannel();
    const attachment: Attachment = { model, channel, tag: '', lost: false };
    // Errors while attaching reject the attach; later ones (a consumer_timeout, say) close the channel.
    channel.on('error', (error: Error) => {
      if (current === attachment) report(error, 'attach');
    });
    channel.on('close', () => {
      lose(attachment);
      if (current === attachment) {
        current = undefined;
        if (!stopping) void reattach();
      }
    });
    try {
      await channel.prefetch(concurrency);
      await declareGroup(channel, names, channelName, group, topics);
      const { consumerTag } = await channel.consume(queue, (raw) => onMessage(attachment, raw), {
        noAck: false,
      });
      attachment.tag = consumerTag;
    } catch (error) {
      await channel.close().catch(() => undefined);
      throw explainDeclareError(error, `consume from queue ${queue}`);
    }
    if (attachment.lost) throw new Error('the channel closed while the consumer started');
    current = attachment;
  };

  /** Attaches again after the channel or the connection went away, with backoff between failures. */
  const reattach = async (): Promise<void> => {
    if (reattaching || stopping) return;
    reattaching = true;
    let delay = options.reconnectDelayMs;
    try {
      while (!stopping && current === undefined) {
        try {
          await attach(await connection.ready(stop.signal));
        } catch (error) {
          if (stopping) break;
          report(error, 'attach');
          await sleep(delay, undefined, { signal: stop.signal }).catch(() => undefined);
          delay = Math.min(delay * 2, options.reconnectMaxDelayMs);
        }
      }
    } finally {
      reattaching = false;
    }
  };

  await attach(await connection.live('consume'));
  const unsubscribe = connection.onConnect((model) => {
    if (current !== undefined && current.model !== model) {
      lose(current);
      current = undefined;
    }
    if (current === undefined) void reattach();
  });

  const close = async (closeOptions: { timeoutMs?: number } = {}): Promise<void> => {
    stopping = true;
    stop.abort();
    unsubscribe();
    const attachment = current;
    const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    // Cancel first: the broker sends nothing more, while acks of the work in flight still go through.
    if (attachment !== undefined && !attachment.lost)
      await within(() => attachment.channel.cancel(attachment.tag), BROKER_REPLY_MS);
    if (runs.running() > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        runs.idle(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    // Closing the channel returns what is still unsettled to the queue, for the next member.
    for (const held of inFlight) held.settled = true;
    inFlight.clear();
    if (attachment !== undefined) {
      attachment.lost = true;
      current = undefined;
      await within(() => attachment.channel.close(), BROKER_REPLY_MS);
    }
    context.forget(consumer);
  };

  const consumer: TransportConsumer = {
    close: (closeOptions) => {
      closing ??= close(closeOptions);
      return closing;
    },
  };
  return consumer;
}
