import type {
  Clock,
  ConsumeOptions,
  Delivery,
  DeliveryHandler,
  FailureRecord,
  TransportConsumer,
  TransportMessage,
} from '@tidings/core';
import { frameToMessage } from './mapping.ts';
import type { RedisPubSubErrorContext } from './pubsub-options.ts';

/** A message waiting in a group, with what earlier deliveries of it in this process did. */
interface Pending {
  readonly message: TransportMessage;
  readonly attempt: number;
  readonly tries: number;
  readonly firstFailedAt: number | undefined;
}

/** A delivery handed to a member. */
interface Held {
  readonly pending: Pending;
  settled: boolean;
}

interface Member {
  readonly topics: ReadonlySet<string>;
  readonly concurrency: number;
  readonly held: Set<Held>;
  closing: boolean;
  dispatch(pending: Pending): void;
}

/** One group on one channel, in this transport: its waiting messages and its members here. */
interface GroupState {
  readonly key: string;
  readonly channel: string;
  readonly group: string;
  readonly queue: Pending[];
  readonly members: Set<Member>;
  /** The Pub/Sub channels this group is registered on. */
  readonly subscribed: Set<string>;
  scheduled: boolean;
  dropped: number;
}

/** What the groups need from their transport. @internal */
export interface GroupsContext {
  readonly clock: Clock;
  readonly maxBuffered: number;
  /** Aborted when the transport closes: delayed redeliveries are dropped then. */
  readonly stop: AbortSignal;
  /** The Pub/Sub channel of a topic, and the one where a group's replays arrive. */
  topicChannel(channel: string, topic: string): string;
  replayChannel(channel: string, group: string): string;
  subscribe(pubSubChannel: string): Promise<void>;
  unsubscribe(pubSubChannel: string): Promise<void>;
  storeDeadLetter(
    channel: string,
    group: string,
    message: TransportMessage,
    failure: FailureRecord,
  ): Promise<void>;
  report(error: unknown, context: RedisPubSubErrorContext): void;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

/** The in-process side of the Pub/Sub transport: groups, their queues, their members. @internal */
export interface Groups {
  /** Starts a member of a group; resolves once its channels are subscribed. */
  add(options: ConsumeOptions, handler: DeliveryHandler): Promise<TransportConsumer>;
  /** Hands a payload heard on a Pub/Sub channel to the groups listening there. */
  heard(pubSubChannel: string, frame: Buffer): void;
  /** Closes every member (draining each first). */
  closeAll(): Promise<void>;
}

/**
 * Every group of a transport gets each message heard on its channels; the members of one group in
 * this transport share them, up to each member's concurrency. A nack, or a close that times out, puts
 * the message back in the group's queue with the next attempt; nothing outlives the process.
 *
 * @internal
 */
export function createGroups(context: GroupsContext): Groups {
  const states = new Map<string, GroupState>();
  /** Which groups listen on each Pub/Sub channel, and what they expect there. */
  const listeners = new Map<string, Set<GroupState>>();
  const routes = new Map<string, { readonly topic: string } | { readonly replayOf: string }>();
  const subscribing = new Map<string, Promise<void>>();
  const closers = new Set<TransportConsumer>();

  const stateOf = (channel: string, group: string): GroupState => {
    const key = `${channel}\u0000${group}`;
    let state = states.get(key);
    if (state === undefined) {
      state = {
        key,
        channel,
        group,
        queue: [],
        members: new Set(),
        subscribed: new Set(),
        scheduled: false,
        dropped: 0,
      };
      states.set(key, state);
    }
    return state;
  };

  const forgetIfIdle = (state: GroupState): void => {
    if (state.members.size === 0 && state.queue.length === 0) states.delete(state.key);
  };

  const pump = (state: GroupState): void => {
    state.scheduled = false;
    for (let progressed = true; progressed && state.queue.length > 0; ) {
      progressed = false;
      // One message per member per round, so that members share the queue.
      for (const member of state.members) {
        if (member.closing || member.held.size >= member.concurrency) continue;
        const index = state.queue.findIndex((pending) => member.topics.has(pending.message.topic));
        if (index < 0) continue;
        const [pending] = state.queue.splice(index, 1);
        if (pending === undefined) continue;
        progressed = true;
        member.dispatch(pending);
      }
    }
  };

  // Deferred, so that a handler that settles at once does not re-enter the pump.
  const schedule = (state: GroupState): void => {
    if (state.scheduled) return;
    state.scheduled = true;
    queueMicrotask(() => pump(state));
  };

  const enqueue = (state: GroupState, pending: Pending): void => {
    if (context.stop.aborted) return;
    state.queue.push(pending);
    if (state.queue.length > context.maxBuffered) {
      const oldest = state.queue.shift();
      state.dropped += 1;
      // The 1st, 10th, 100th… drop: loud enough to notice, not a line per message under overload.
      if (Number.isInteger(Math.log10(state.dropped))) {
        context.report(
          new Error(
            `group ${state.group} holds more than ${context.maxBuffered} waiting messages; dropped the oldest ` +
              `(${state.dropped} so far). Add consumers, raise concurrency or maxBuffered.`,
          ),
          { where: 'overflow', channel: state.channel, group: state.group, messageId: oldest?.message.id },
        );
      }
    }
    schedule(state);
  };

  const requeue = (state: GroupState, pending: Pending, delayMs: number | undefined): void => {
    if (delayMs === undefined || !(delayMs > 0)) {
      enqueue(state, pending);
      return;
    }
    context.clock.sleep(delayMs, context.stop).then(
      () => enqueue(state, pending),
      () => undefined,
    );
  };

  /** Registers the group on the Pub/Sub channels its members need, and off those they no longer do. */
  const syncSubscriptions = async (state: GroupState): Promise<void> => {
    const wanted = new Set<string>();
    if (state.members.size > 0) {
      wanted.add(context.replayChannel(state.channel, state.group));
      routes.set(context.replayChannel(state.channel, state.group), { replayOf: state.key });
      for (const member of state.members) {
        for (const topic of member.topics) {
          const name = context.topicChannel(state.channel, topic);
          routes.set(name, { topic });
          wanted.add(name);
        }
      }
    }
    for (const name of wanted) {
      if (state.subscribed.has(name)) continue;
      state.subscribed.add(name);
      let groups = listeners.get(name);
      if (groups === undefined) listeners.set(name, (groups = new Set()));
      groups.add(state);
      if (groups.size === 1 && !subscribing.has(name)) {
        subscribing.set(
          name,
          context.subscribe(name).finally(() => subscribing.delete(name)),
        );
      }
      try {
        await subscribing.get(name);
      } catch (error) {
        state.subscribed.delete(name);
        groups.delete(state);
        throw error;
      }
    }
    for (const name of [...state.subscribed]) {
      if (wanted.has(name)) continue;
      state.subscribed.delete(name);
      const groups = listeners.get(name);
      groups?.delete(state);
      if (groups !== undefined && groups.size === 0) {
        listeners.delete(name);
        routes.delete(name);
        await context
          .unsubscribe(name)
          .catch((error: unknown) =>
            context.report(error, { where: 'connection', channel: state.channel, group: state.group }),
          );
      }
    }
  };

  const add = async (options: ConsumeOptions, handler: DeliveryHandler): Promise<TransportConsumer> => {
    const state = stateOf(options.channel, options.group);
    const { channel, group } = options;
    let drained: (() => void) | undefined;

    const settle = (held: Held): boolean => {
      if (held.settled) return false;
      held.settled = true;
      member.held.delete(held);
      if (member.held.size === 0) drained?.();
      schedule(state);
      return true;
    };

    const deliveryOf = (held: Held): Delivery => {
      const { pending } = held;
      return {
        message: pending.message,
        group,
        attempt: pending.attempt,
        firstFailedAt: pending.firstFailedAt,
        previousTries: pending.tries,
        ack: () => {
          settle(held);
          return Promise.resolve();
        },
        nack: (nackOptions = {}) => {
          if (!settle(held)) return Promise.resolve();
          const tries =
            nackOptions.tries !== undefined && Number.isInteger(nackOptions.tries)
              ? Math.max(0, nackOptions.tries)
              : 1;
          const next: Pending = {
            message: pending.message,
            attempt: pending.attempt + 1,
            tries: pending.tries + tries,
            firstFailedAt: pending.firstFailedAt ?? nackOptions.failedAt ?? context.clock.now(),
          };
          requeue(state, next, nackOptions.delayMs);
          return Promise.resolve();
        },
        deadLetter: async (failure) => {
          if (!settle(held)) return;
          try {
            await context.storeDeadLetter(channel, group, pending.message, failure);
          } catch (error) {
            // Pub/Sub keeps nothing to come back to: say loudly what is lost.
            context.report(error, { where: 'dead-letter', channel, group, messageId: pending.message.id });
            throw error;
          }
        },
        touch: () => Promise.resolve(),
      };
    };

    const member: Member = {
      topics: new Set(options.topics),
      concurrency: options.concurrency,
      held: new Set(),
      closing: false,
      dispatch(pending) {
        const held: Held = { pending, settled: false };
        member.held.add(held);
        const delivery = deliveryOf(held);
        void (async () => {
          try {
            await handler(delivery);
          } catch (error) {
            // The bus settles deliveries itself; this is the last resort that keeps the member alive.
            context.report(error, { where: 'handler', channel, group, messageId: pending.message.id });
            await delivery.nack().catch(() => undefined);
          }
        })();
      },
    };

    state.members.add(member);
    try {
      await syncSubscriptions(state);
    } catch (error) {
      state.members.delete(member);
      await syncSubscriptions(state).catch(() => undefined);
      forgetIfIdle(state);
      throw error;
    }
    schedule(state);

    let closing: Promise<void> | undefined;
    const close = async (timeoutMs: number): Promise<void> => {
      member.closing = true;
      if (member.held.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => {
            drained = resolve;
          }),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      // What is still unsettled goes back to the group, as the next attempt; late settles do nothing.
      for (const held of [...member.held]) {
        held.settled = true;
        const { pending } = held;
        enqueue(state, { ...pending, attempt: pending.attempt + 1 });
      }
      member.held.clear();
      state.members.delete(member);
      closers.delete(consumer);
      await syncSubscriptions(state);
      forgetIfIdle(state);
      schedule(state);
    };
    const consumer: TransportConsumer = {
      close(closeOptions = {}) {
        closing ??= close(closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
        return closing;
      },
    };
    closers.add(consumer);
    return consumer;
  };

  return {
    add,
    heard(pubSubChannel, frame) {
      const route = routes.get(pubSubChannel);
      if (route === undefined) return;
      let message = frameToMessage(frame, 'topic' in route ? route.topic : '');
      // The channel decides the topic: a payload naming another was not published by this transport,
      // and is handed on as it is for the bus to judge.
      if ('topic' in route && message.topic !== route.topic) message = { ...message, topic: route.topic };
      for (const state of listeners.get(pubSubChannel) ?? []) {
        if ('replayOf' in route && route.replayOf !== state.key) continue;
        enqueue(state, { message, attempt: 1, tries: 0, firstFailedAt: undefined });
      }
    },
    async closeAll() {
      await Promise.all([...closers].map((consumer) => consumer.close()));
    },
  };
}
