import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type {
  ConsumeOptions,
  Delivery,
  DeliveryHandler,
  TransportConsumer,
  TransportMessage,
} from '@tidings/core';
import { handlerRuns } from '@tidings/core';
import type { Clients } from './client.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { FailureHistory } from './history.ts';
import { decodeMessage } from './mapping.ts';
import type { AwsErrorContext, ResolvedTransportOptions } from './options.ts';
import type { Settler } from './settler.ts';
import type { GroupSetup } from './topology.ts';

/** What a consumer borrows from its transport. @internal */
export interface ConsumerContext {
  readonly clients: Clients;
  readonly options: ResolvedTransportOptions;
  readonly settler: Settler;
  readonly deadLetters: DeadLetters;
  readonly history: FailureHistory;
  readonly setup: GroupSetup;
  /** Called once the consumer has closed. */
  readonly forget: (consumer: AwsConsumer) => void;
}

/** A consumer, and when its last ReceiveMessage call has come back. @internal */
export interface AwsConsumer extends TransportConsumer {
  /** Resolves once every receive loop has ended (a long poll may outlive `close`). */
  readonly finished: Promise<void>;
}

/** One received message while this consumer holds it. */
interface Held {
  readonly receipt: string;
  readonly sqsId: string;
  readonly message: TransportMessage;
  readonly attempt: number;
  /** Arrival order, so that messages handed back keep it. */
  readonly seq: number;
  readonly receivedAt: number;
  /** The ordering key, when the consumer is ordered. */
  readonly key: string | undefined;
  leaseUntil: number;
  settled: boolean;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** SQS counts a visibility timeout from the receive, 12 hours at most. */
const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_POLLERS = 8;

/**
 * Starts one consumer: receive loops that long-poll the group's queue for as many messages as there is
 * room for (`concurrency` unsettled at most), with the lease as the visibility timeout. An ack deletes
 * the message, a nack changes its visibility (0, or the delay), `touch` extends it, and close hands
 * back whatever is still unsettled. When ordered, messages of one key run one at a time in arrival
 * order, and a nack hands the later ones back too, so the FIFO queue delivers them again in order.
 *
 * @internal
 */
export function startConsumer(
  context: ConsumerContext,
  consume: ConsumeOptions,
  handler: DeliveryHandler,
): AwsConsumer {
  const { clients, options, settler, history, setup } = context;
  const { clock } = options;
  const { channel, group, concurrency, ordered } = consume;
  const { queueUrl } = setup;
  const wanted = new Set(consume.topics);
  // What SNS already filters needs no second look; without a policy, this consumer's topics decide.
  const accepts = (topic: string): boolean => (setup.delivered ?? wanted).has(topic);
  const visibility = Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil(consume.leaseMs / 1000)));
  const unsettled = new Set<Held>();
  const latest = new Map<string, Held>();
  const keys = new Map<string, Held[]>();
  let reserved = 0;
  let seq = 0;
  let stopping = false;
  let wake: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  const stop = new AbortController();

  function report(error: unknown, where: AwsErrorContext['where'], messageId?: string): void {
    try {
      options.onError(error, { where, channel, group, messageId });
    } catch {
      // A throwing error reporter must not stop the consumer.
    }
  }
  const runs = handlerRuns(handler, report);

  const nudge = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };

  /** Still this delivery's to settle: not settled, not received again since, and within its lease. */
  const live = (held: Held): boolean =>
    !held.settled && latest.get(held.sqsId) === held && clock.now() < held.leaseUntil;

  const historyKey = (held: Held): string => `${queueUrl}|${held.sqsId}`;

  /** Forgets a settled delivery and, when ordered, starts the next of its key. */
  const finish = (held: Held): void => {
    held.settled = true;
    unsettled.delete(held);
    if (latest.get(held.sqsId) === held) latest.delete(held.sqsId);
    if (held.key !== undefined) {
      const line = keys.get(held.key);
      if (line !== undefined && line[0] === held) {
        line.shift();
        const next = line[0];
        if (next === undefined) keys.delete(held.key);
        else if (!stopping) dispatch(next);
      }
    }
    nudge();
  };

  /** Hands messages back at once, latest first: SQS puts each in front of its FIFO group. */
  const release = (helds: readonly Held[]): Promise<void>[] =>
    [...helds]
      .sort((a, b) => b.seq - a.seq)
      .map((held) => {
        held.settled = true;
        unsettled.delete(held);
        if (latest.get(held.sqsId) === held) latest.delete(held.sqsId);
        return settler.changeVisibility(queueUrl, held.receipt, 0);
      });

  const makeDelivery = (held: Held): Delivery => {
    const past = history.get(historyKey(held));
    return {
      message: held.message,
      group,
      attempt: held.attempt,
      firstFailedAt: past?.firstFailedAt,
      // After a crash nothing in memory says how often handlers ran: one run per earlier delivery.
      previousTries: past?.tries ?? held.attempt - 1,
      ack: async () => {
        if (!live(held)) return;
        finish(held);
        history.delete(historyKey(held));
        await settler.delete(queueUrl, held.receipt);
      },
      nack: async (nackOptions = {}) => {
        if (!live(held)) return;
        const now = clock.now();
        const tries =
          nackOptions.tries !== undefined && Number.isInteger(nackOptions.tries)
            ? Math.max(0, nackOptions.tries)
            : 1;
        history.set(historyKey(held), {
          tries: (past?.tries ?? held.attempt - 1) + tries,
          firstFailedAt: past?.firstFailedAt ?? nackOptions.failedAt ?? now,
        });
        const delay = nackOptions.delayMs;
        const left = MAX_VISIBILITY_SECONDS - Math.ceil((now - held.receivedAt) / 1000);
        const seconds =
          delay !== undefined && Number.isFinite(delay) && delay > 0
            ? Math.max(0, Math.min(Math.ceil(delay / 1000), left))
            : 0;
        // The later messages of this key go back first, so that this one stays in front of them.
        const later = held.key === undefined ? [] : (keys.get(held.key) ?? []).filter((h) => h !== held);
        if (held.key !== undefined) keys.delete(held.key);
        const handedBack = release(later);
        held.settled = true;
        unsettled.delete(held);
        if (latest.get(held.sqsId) === held) latest.delete(held.sqsId);
        nudge();
        await Promise.all([...handedBack, settler.changeVisibility(queueUrl, held.receipt, seconds)]);
      },
      deadLetter: async (failure) => {
        if (!live(held)) return;
        finish(held);
        try {
          await context.deadLetters.add({ channel, group, message: held.message, failure });
        } catch (error) {
          await settler.changeVisibility(queueUrl, held.receipt, 0).catch(() => undefined);
          throw error;
        }
        history.delete(historyKey(held));
        await settler.delete(queueUrl, held.receipt);
      },
      touch: async () => {
        if (!live(held)) return;
        held.leaseUntil = clock.now() + visibility * 1000;
        // A failed touch is not the handler's failure: the lease may run out, and the message comes back.
        await settler
          .changeVisibility(queueUrl, held.receipt, visibility)
          .catch((error: unknown) => report(error, 'settle', held.message.id));
      },
    };
  };

  function dispatch(held: Held): void {
    const delivery = makeDelivery(held);
    runs.start(delivery, held.message.id);
  }

  const accept = (messages: readonly Message[], receivedAt: number): void => {
    const dropped: Promise<void>[] = [];
    const fresh: Held[] = [];
    for (const raw of messages) {
      if (raw.ReceiptHandle === undefined) continue;
      const message = decodeMessage(raw);
      const held: Held = {
        receipt: raw.ReceiptHandle,
        sqsId: raw.MessageId ?? message.id,
        message,
        attempt: Math.max(1, Number(raw.Attributes?.ApproximateReceiveCount ?? 1) || 1),
        seq: (seq += 1),
        receivedAt,
        key: ordered ? message.key : undefined,
        leaseUntil: receivedAt + visibility * 1000,
        settled: false,
      };
      if (!accepts(message.topic)) {
        // Not for this group: SNS had no policy to stop it, so the consumer drops it.
        dropped.push(settler.delete(queueUrl, held.receipt));
        continue;
      }
      // A newer receive of the same message makes the older holder stale: SQS took it back.
      const older = latest.get(held.sqsId);
      if (older !== undefined) {
        older.settled = true;
        unsettled.delete(older);
      }
      latest.set(held.sqsId, held);
      unsettled.add(held);
      fresh.push(held);
    }
    if (stopping) {
      void Promise.all(release(fresh)).catch((error: unknown) => report(error, 'release'));
      return;
    }
    for (const held of fresh) {
      if (held.key === undefined) {
        dispatch(held);
        continue;
      }
      const line = keys.get(held.key);
      if (line === undefined) {
        keys.set(held.key, [held]);
        dispatch(held);
      } else line.push(held);
    }
    void Promise.all(dropped).catch((error: unknown) => report(error, 'settle'));
  };

  /** Deliveries whose lease ran out are SQS's again: they no longer take up room. */
  const forgetExpired = (): void => {
    const now = clock.now();
    for (const held of unsettled) {
      if (now < held.leaseUntil || held.settled) continue;
      const line = held.key === undefined ? undefined : keys.get(held.key);
      // Messages waiting behind their key keep their lease; only the one running can lose it.
      if (line !== undefined && line[0] !== held) continue;
      held.settled = true;
      unsettled.delete(held);
      if (line !== undefined && held.key !== undefined) {
        keys.delete(held.key);
        // The expired one is back in front of its FIFO group: the ones behind it go back too.
        void Promise.all(release(line.slice(1))).catch((error: unknown) => report(error, 'release'));
      }
    }
  };

  /** Resolves when a settlement makes room, or when the next lease runs out (which may make some). */
  const roomFor = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let next = Number.POSITIVE_INFINITY;
      for (const held of unsettled) next = Math.min(next, held.leaseUntil);
      const timer = setTimeout(resolve, Math.max(10, Math.min(next - clock.now(), 1_000)));
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const poll = async (): Promise<void> => {
    let backoff = 100;
    while (!stopping) {
      forgetExpired();
      const room = concurrency - unsettled.size - reserved;
      if (room <= 0) {
        await roomFor();
        continue;
      }
      const count = Math.min(10, room);
      reserved += count;
      let messages: Message[];
      try {
        const out = await clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: count,
            VisibilityTimeout: visibility,
            WaitTimeSeconds: options.waitTimeSeconds,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        messages = out.Messages ?? [];
        backoff = 100;
      } catch (error) {
        reserved -= count;
        if (stopping) break;
        report(error, 'receive');
        await sleep(backoff, undefined, { signal: stop.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, 5_000);
        continue;
      }
      reserved -= count;
      // SQS starts the visibility timeout when a long poll finds the message, near its answer.
      accept(messages, clock.now());
    }
  };

  // Messages of a key that wait behind an earlier one keep their lease here; the bus touches the others.
  const renew = ordered
    ? setInterval(
        () => {
          for (const line of keys.values())
            for (const held of line.slice(1)) {
              held.leaseUntil = clock.now() + visibility * 1000;
              settler
                .changeVisibility(queueUrl, held.receipt, visibility)
                .catch((error: unknown) => report(error, 'settle', held.message.id));
            }
        },
        Math.max(200, Math.floor((visibility * 1000) / 3)),
      )
    : undefined;
  renew?.unref();

  const pollers = Math.min(MAX_POLLERS, Math.ceil(concurrency / 10));
  const finished = Promise.all(Array.from({ length: pollers }, () => poll())).then(() => undefined);

  const close = async (closeOptions: { timeoutMs?: number } = {}): Promise<void> => {
    stopping = true;
    stop.abort();
    nudge();
    if (renew !== undefined) clearInterval(renew);
    // Messages waiting behind their key never started: back to the queue with them at once.
    const waiting = [...keys.values()].flatMap((line) => line.slice(1));
    for (const line of keys.values()) line.splice(1);
    await Promise.all(release(waiting)).catch((error: unknown) => report(error, 'release'));
    const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
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
    // What is still unsettled goes back to the group; late settlements of it do nothing.
    await Promise.all(release([...unsettled])).catch((error: unknown) => report(error, 'release'));
    await settler.drain();
    context.forget(consumer);
  };

  const consumer: AwsConsumer = {
    finished,
    close: (closeOptions) => {
      closing ??= close(closeOptions);
      return closing;
    },
  };
  return consumer;
}
