import type { Channel, ChannelModel } from 'amqplib';
import { TidingsError } from '@tidings/core';
import { delayQueueArguments, GROUP_QUEUE_ARGUMENTS, type Names } from './mapping.ts';

/**
 * Declaring exchanges, queues and bindings. Every declaration is idempotent, so consumers repeat theirs
 * after each reconnection (a restarted broker may have lost nothing, or everything); publishers
 * remember, per connection, what they declared already.
 */

/** Remembers per connection which declarations were made, so hot paths declare once. @internal */
export interface Declared {
  once(model: ChannelModel, key: string, declare: () => Promise<void>): Promise<void>;
}

/** @internal */
export function createDeclared(): Declared {
  const byModel = new WeakMap<ChannelModel, Map<string, Promise<void>>>();
  return {
    once(model, key, declare) {
      let done = byModel.get(model);
      if (done === undefined) byModel.set(model, (done = new Map<string, Promise<void>>()));
      let pending = done.get(key);
      if (pending === undefined) {
        pending = declare();
        done.set(key, pending);
        // A failed declaration is tried again next time.
        pending.catch(() => done.delete(key));
      }
      return pending;
    },
  };
}

/** The durable topic exchange of a channel. @internal */
export async function declareExchange(channel: Channel, names: Names, channelName: string): Promise<void> {
  await channel.assertExchange(names.exchange(channelName), 'topic', { durable: true });
}

/**
 * A group's quorum queue, bound to its channel's exchange for each topic. Bindings are only ever
 * added: a group that once consumed a topic keeps receiving it.
 *
 * @internal
 */
export async function declareGroup(
  channel: Channel,
  names: Names,
  channelName: string,
  group: string,
  topics: readonly string[],
): Promise<string> {
  const queue = names.queue(channelName, group);
  await declareExchange(channel, names, channelName);
  await channel.assertQueue(queue, { durable: true, arguments: { ...GROUP_QUEUE_ARGUMENTS } });
  for (const topic of topics) await channel.bindQueue(queue, names.exchange(channelName), topic);
  return queue;
}

/** A delay bucket: a fanout exchange and a quorum queue whose expired messages return by routing key. @internal */
export async function declareDelay(channel: Channel, names: Names, bucketMs: number): Promise<void> {
  const name = names.delay(bucketMs);
  await channel.assertExchange(name, 'fanout', { durable: true });
  await channel.assertQueue(name, { durable: true, arguments: delayQueueArguments(bucketMs) });
  await channel.bindQueue(name, name, '');
}

/** The stream of dead letters. @internal */
export async function declareDeadLetters(channel: Channel, names: Names): Promise<void> {
  await channel.assertQueue(names.deadLetters, { durable: true, arguments: { 'x-queue-type': 'stream' } });
}

/** Turns "a queue exists with other arguments" into an error that says what to do. @internal */
export function explainDeclareError(error: unknown, what: string): unknown {
  if (!(error instanceof Error) || !/PRECONDITION_FAILED|inequivalent/i.test(error.message)) return error;
  return new TidingsError(
    'TIDINGS_UNSUPPORTED',
    `Cannot ${what}: RabbitMQ has it with other settings than the transport declares (${error.message}). ` +
      'Channel exchanges must be durable topic exchanges, group queues durable quorum queues without ' +
      'x-delivery-limit (set limits with a policy, above the retry budget); delete or rename the old one, ' +
      'or use another prefix.',
    { cause: error },
  );
}
