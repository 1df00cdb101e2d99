import { randomUUID } from 'node:crypto';
import type { Clock, Delivery, TransportMessage } from '@tidings/core';
import type { AckBatcher } from './ack-batcher.ts';
import type { RedisClient } from './client.ts';
import type { DeadLetters } from './dead-letters.ts';
import { type Keys, messageToFields } from './mapping.ts';
import * as scripts from './scripts.ts';

/** One stream a consumer reads: the channel's topic stream, or the group's own retry stream. @internal */
export interface Source {
  readonly key: string;
  readonly topic: string;
  /** The group's private stream: entries are deleted once settled. */
  readonly own: boolean;
  /** Where the next XAUTOCLAIM scan continues. */
  cursor: string;
}

/** What the begin script says of one entry. @internal */
export interface Counted {
  readonly attempt: number;
  readonly tries: number;
  readonly firstFailedAt: number | undefined;
}

/** The counts of entry `index` in a begin script's flat reply (attempt, tries, first failure or ''). @internal */
export function countedAt(counted: readonly (number | string)[], index: number): Counted {
  const firstFailed = String(counted[index * 3 + 2] ?? '');
  return {
    attempt: Number(counted[index * 3]),
    tries: Number(counted[index * 3 + 1] ?? 0),
    firstFailedAt: firstFailed === '' ? undefined : Number(firstFailed),
  };
}

/** An entry a consumer has handed out and not settled yet. @internal */
export interface Claimed {
  readonly source: Source;
  readonly entryId: string;
  readonly messageId: string;
  readonly token: string;
  leaseUntil: number;
  settled: boolean;
}

/** What the deliveries of one consumer share. @internal */
export interface DeliveryParts {
  readonly client: RedisClient;
  readonly keys: Keys;
  readonly clock: Clock;
  readonly deadLetters: DeadLetters;
  readonly closed: () => boolean;
  readonly acks: AckBatcher;
  readonly channel: string;
  readonly group: string;
  readonly attemptsKey: string;
  readonly consumerName: string;
  readonly leaseMs: number;
  /** Marks the entry settled and frees its slot, then runs `write`; does nothing when it was settled. */
  readonly settle: (entry: Claimed, write: () => Promise<unknown>) => Promise<void>;
}

/** The arguments every settle script starts with (see scripts.ts). @internal */
export const leaseArgs = (group: string, entry: Claimed): string[] => [
  group,
  entry.entryId,
  entry.messageId,
  entry.token,
  entry.source.own ? '1' : '0',
];

/**
 * Makes the delivery of one begun entry, and the record of it the consumer keeps while it is in
 * flight. Acks go through the consumer's ack batcher; a nack, a dead letter and a touch are one
 * script each (they are the rare case).
 *
 * @internal
 */
export function createDelivery(
  parts: DeliveryParts,
  source: Source,
  entryId: string,
  message: TransportMessage,
  token: string,
  counted: Counted,
): { delivery: Delivery; entry: Claimed } {
  const { client, keys, clock, channel, group, attemptsKey, leaseMs, settle } = parts;
  const entry: Claimed = {
    source,
    entryId,
    messageId: message.id,
    token,
    leaseUntil: clock.now() + leaseMs,
    settled: false,
  };
  const delivery: Delivery = {
    message,
    group,
    attempt: counted.attempt,
    firstFailedAt: counted.firstFailedAt,
    previousTries: counted.tries,
    ack: () =>
      settle(entry, () =>
        parts.acks.ack({ stream: source.key, entryId, messageId: message.id, token, own: source.own }),
      ),
    nack: (nackOptions = {}) => {
      const now = clock.now();
      const delay = nackOptions.delayMs;
      const due = delay !== undefined && Number.isFinite(delay) && delay > 0 ? String(now + delay) : '';
      const tries =
        nackOptions.tries !== undefined && Number.isInteger(nackOptions.tries)
          ? Math.max(0, nackOptions.tries)
          : 1;
      return settle(entry, () =>
        scripts.nack.run(
          client,
          [
            source.key,
            attemptsKey,
            keys.retry(channel, source.topic, group),
            keys.delayed(channel, source.topic, group),
          ],
          [
            ...leaseArgs(group, entry),
            String(tries),
            String(nackOptions.failedAt ?? now),
            due,
            JSON.stringify(messageToFields(message)),
            randomUUID(),
          ],
        ),
      );
    },
    deadLetter: (failure) =>
      settle(entry, () =>
        parts.deadLetters.move({
          stream: source.key,
          attempts: attemptsKey,
          group,
          channel,
          entryId,
          token,
          ownStream: source.own,
          message,
          failure,
        }),
      ),
    touch: async () => {
      if (entry.settled || parts.closed()) return;
      const touched = await scripts.touch.run<number>(
        client,
        [source.key, attemptsKey],
        [...leaseArgs(group, entry), parts.consumerName],
      );
      if (touched === 1) entry.leaseUntil = clock.now() + leaseMs;
    },
  };
  return { delivery, entry };
}
