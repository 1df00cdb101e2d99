import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { ConsumeOptions, Delivery, DeliveryHandler, TransportConsumer } from '@tidings/core';
import { handlerRuns } from '@tidings/core';
import { type Connection, isConnectionError, translate } from './client.ts';
import type { DeadLetters } from './dead-letters.ts';
import { type Names, toTransportMessage } from './mapping.ts';
import type { NatsErrorContext, ResolvedTransportOptions } from './options.ts';
import type { Streams, TriesFacts } from './streams.ts';

/** What a consumer borrows from its transport. @internal */
export interface ConsumerContext {
  readonly connection: Connection;
  readonly names: Names;
  readonly options: ResolvedTransportOptions;
  readonly streams: Streams;
  readonly deadLetters: DeadLetters;
  readonly closed: () => boolean;
  /** Called once the consumer has closed. */
  readonly forget: (consumer: TransportConsumer) => void;
}

/** A delivery this consumer holds. */
interface Held {
  readonly msg: JsMsg;
  readonly sequence: number;
  readonly messageId: string;
  /** Local lease end (monotonic ms): a settle after it does nothing, since the server has moved on. */
  leaseUntil: number;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  facts: TriesFacts | undefined;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 2_000;
/** How long a group's consumer must stay missing before it is created again. */
const RECREATE_AFTER_MS = 10_000;

const monotonic = (): number => performance.now();
const done = Promise.resolve();

/**
 * Starts one member of a group: a loop of pull requests (`fetch`) on the group's durable consumer,
 * each asking for as many messages as there are free slots, so that a member never holds messages it
 * cannot start on (they would wait while their `ack_wait` runs, and a second member would go idle).
 *
 * The loop outlives the connection: while it is down no pull is sent (the client would buffer it and
 * replay it late); errors back off up to 2 s; a consumer deleted under it is created again.
 *
 * @internal
 */
export async function startConsumer(
  context: ConsumerContext,
  consume: ConsumeOptions,
  handler: DeliveryHandler,
): Promise<TransportConsumer> {
  const { connection, names, options, streams } = context;
  const { clock } = options;
  const { channel, group, concurrency, leaseMs } = consume;
  const topics = new Set(consume.topics);
  const stream = names.channelStream(channel);
  const durable = names.consumer(group);
  await streams.ensureConsumer(channel, group, leaseMs, concurrency);

  const inFlight = new Set<Held>();
  const newest = new Map<number, Held>();
  /** Pull requests in flight, with the promise that settles once each has ended. */
  const fetches = new Map<ConsumerMessages, Promise<void>>();
  /** Bookkeeping started after a settle (clearing failure facts); close waits for it. */
  const background = new Set<Promise<void>>();
  let outstanding = 0;
  let stopping = false;
  let failures = 0;
  let wake: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  /** Since when (monotonic ms) the server has said the group's consumer is missing. */
  let missingSince: number | undefined;

  function report(error: unknown, where: NatsErrorContext['where'], messageId?: string): void {
    try {
      options.onError(error, { where, channel, group, messageId });
    } catch {
      // A throwing error reporter must not stop the loop either.
    }
  }
  const runs = handlerRuns(handler, report);

  const signal = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };

  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      wake = done;
    });

  const freeSlot = (held: Held): void => {
    clearTimeout(held.timer);
    if (newest.get(held.sequence) === held) newest.delete(held.sequence);
    if (inFlight.delete(held)) signal();
  };

  const armLease = (held: Held): void => {
    clearTimeout(held.timer);
    held.leaseUntil = monotonic() + leaseMs;
    // Once the lease runs out the server hands the message to someone else: the slot is free again.
    held.timer = setTimeout(() => freeSlot(held), leaseMs + 1);
    held.timer.unref();
  };

  /** Settles once, and only while the lease is this holder's. */
  const settle = async (held: Held, write: () => Promise<void>): Promise<void> => {
    if (held.settled) return;
    held.settled = true;
    const current = newest.get(held.sequence) === held && monotonic() <= held.leaseUntil;
    freeSlot(held);
    if (!current || context.closed()) return;
    await write();
  };

  // One flush (a PING the server answers after everything sent before it) confirms every ack and nak
  // made in the same turn: a round trip per batch rather than a request per message.
  let pendingFlush: Promise<void> | undefined;
  const flushed = (): Promise<void> => {
    pendingFlush ??= Promise.resolve().then(() => {
      pendingFlush = undefined;
      return connection.current('settle').flush();
    });
    return pendingFlush;
  };

  const clearTries = (held: Held): void => {
    if (held.facts === undefined) return;
    const task = streams
      .clearTries(channel, group, held.sequence)
      .catch((error: unknown) => report(error, 'tries', held.messageId))
      .finally(() => background.delete(task));
    background.add(task);
  };

  const ack = async (held: Held): Promise<void> => {
    try {
      connection.current('ack');
      held.msg.ack();
      await connection.whileUp('ack', flushed());
    } catch (error) {
      throw translate(error, 'ack');
    }
    clearTries(held);
  };

  const makeDelivery = (held: Held, message: Delivery['message']): Delivery => ({
    message,
    group,
    attempt: held.msg.info.deliveryCount,
    firstFailedAt: held.facts?.firstFailedAt,
    previousTries: held.facts?.tries ?? 0,
    ack: () => settle(held, () => ack(held)),
    nack: (nackOptions = {}) =>
      settle(held, async () => {
        const delay = nackOptions.delayMs;
        const tries =
          nackOptions.tries !== undefined && Number.isInteger(nackOptions.tries)
            ? Math.max(0, nackOptions.tries)
            : 1;
        const facts: TriesFacts = {
          tries: (held.facts?.tries ?? 0) + tries,
          firstFailedAt: held.facts?.firstFailedAt ?? nackOptions.failedAt ?? clock.now(),
        };
        await streams.writeTries(channel, group, held.sequence, held.messageId, facts);
        connection.current('nack');
        held.msg.nak(
          delay !== undefined && Number.isFinite(delay) && delay > 0 ? Math.ceil(delay) : undefined,
        );
        await flushed().catch((error: unknown) => {
          throw translate(error, 'nack');
        });
      }),
    deadLetter: (failure) =>
      settle(held, async () => {
        await context.deadLetters.move({ channel, group, sequence: held.sequence, message, failure });
        await ack(held);
      }),
    touch: () => {
      if (held.settled || newest.get(held.sequence) !== held || monotonic() > held.leaseUntil) return done;
      if (context.closed()) return done;
      try {
        connection.current('touch');
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      // Fire and forget, as JetStream's in-progress ack is: a lost one shortens the lease, nothing more.
      held.msg.working();
      armLease(held);
      return done;
    },
  });

  const dispatch = (delivery: Delivery, held: Held): void => {
    runs.start(delivery, held.messageId);
  };

  /** Skips what is not this member's: a topic it did not ask for, a replay meant for another group. */
  const skip = (msg: JsMsg): void => {
    try {
      msg.ack();
    } catch (error) {
      report(error, 'settle');
    }
  };

  const receive = async (msg: JsMsg): Promise<void> => {
    const route = names.parseChannelSubject(msg.subject);
    if (
      route === undefined ||
      (route.group !== undefined && route.group !== group) ||
      !topics.has(route.topic)
    ) {
      skip(msg);
      return;
    }
    if (stopping) {
      // Arrived as the consumer closed: hand it straight back to the group.
      msg.nak();
      return;
    }
    const message = toTransportMessage(msg.headers, msg.data, route.topic);
    const held: Held = {
      msg,
      sequence: msg.seq,
      messageId: message.id,
      leaseUntil: 0,
      timer: undefined,
      settled: false,
      facts: undefined,
    };
    // A redelivery of what an earlier holder here still has: that holder's lease is gone.
    const previous = newest.get(msg.seq);
    if (previous !== undefined) freeSlot(previous);
    newest.set(msg.seq, held);
    inFlight.add(held);
    armLease(held);
    if (msg.info.deliveryCount > 1) {
      held.facts = await streams.readTries(channel, group, msg.seq, message.id).catch((error: unknown) => {
        report(error, 'tries', message.id);
        return undefined;
      });
    }
    dispatch(makeDelivery(held, message), held);
  };

  const pull = async (max: number): Promise<void> => {
    const { js } = await streams.client();
    if (missingSince !== undefined && monotonic() - missingSince >= RECREATE_AFTER_MS) {
      await streams.ensureConsumer(channel, group, leaseMs, concurrency);
      missingSince = undefined;
    }
    const consumer = await js.consumers.get(stream, durable);
    missingSince = undefined;
    const messages = await consumer.fetch({ max_messages: max, expires: options.fetchExpiresMs });
    outstanding += max;
    let left = max;
    const ended = (async () => {
      try {
        for await (const msg of messages) {
          left -= 1;
          outstanding -= 1;
          failures = 0;
          await receive(msg);
        }
      } catch (error) {
        noteFailure(error);
      } finally {
        outstanding -= left;
        fetches.delete(messages);
        signal();
      }
    })();
    fetches.set(messages, ended);
  };

  const noteFailure = (error: unknown): void => {
    if (stopping) return;
    failures += 1;
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    // A server that is restarting can answer "not found" for a while: create the consumer again only
    // once it has been missing for a good while, or a new one would start from a stream not yet loaded.
    if (code === 10014 || code === 10059 || /consumer not found|stream not found/i.test(message)) {
      missingSince ??= monotonic();
      streams.forget(channel);
    }
    // Down connections are expected during an outage; the client says so on its own.
    if (!isConnectionError(error)) report(error, 'fetch');
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      const free = concurrency - inFlight.size - outstanding;
      if (free <= 0) {
        await pause(options.fetchExpiresMs);
        continue;
      }
      if (failures > 0) {
        await pause(Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(failures, 6)));
        if (stopping) break;
      }
      try {
        connection.current('fetch');
      } catch {
        await pause(100);
        continue;
      }
      try {
        await pull(free);
      } catch (error) {
        noteFailure(error);
      }
    }
  };
  const looping = loop();

  const close = async (closeOptions: { timeoutMs?: number } = {}): Promise<void> => {
    stopping = true;
    signal();
    await looping;
    // A pull request cannot be taken back: what the server sends to it after this is handed straight
    // back to the group (see receive), so the request is left to end rather than cut off, when the
    // timeout allows.
    const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const drainedHandlers = runs.idle();
    await Promise.race([
      Promise.all([drainedHandlers, ...fetches.values()]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const messages of fetches.keys()) messages.stop();
    // Released, not left to run out: the next member gets them at once.
    const unsettled = [...inFlight];
    for (const held of unsettled) {
      held.settled = true;
      freeSlot(held);
    }
    if (!context.closed() && unsettled.length > 0) {
      try {
        const nc = connection.current('release');
        for (const held of unsettled) held.msg.nak();
        await nc.flush();
      } catch (error) {
        report(error, 'release');
      }
    }
    await Promise.allSettled([...background]);
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
