import { randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ConsumeOptions, Delivery, DeliveryHandler, TransportConsumer } from '@tidings/core';
import type { DeadLetters } from './dead-letters.ts';
import { rowToMessage, handlerRuns } from '@tidings/core';
import type { MessageRow } from '@tidings/core';
import type { ResolvedTransportOptions, SqliteErrorContext } from './options.ts';
import type { WriteQueue } from './write-queue.ts';

/** What a consumer borrows from its transport. @internal */
export interface ConsumerContext {
  readonly db: Database.Database;
  readonly options: ResolvedTransportOptions;
  readonly writes: WriteQueue;
  readonly deadLetters: DeadLetters;
  readonly closed: () => boolean;
  /** Wakes this transport's consumers of a group (a nack or a release made work available). */
  readonly wakeGroup: (group: string) => void;
  /** Retention cleanup, when it is due. */
  readonly housekeeping: () => void;
  /** Called once the consumer has closed. */
  readonly forget: (consumer: RunningConsumer) => void;
}

/** A consumer as its transport sees it. @internal */
export interface RunningConsumer extends TransportConsumer {
  readonly channel: string;
  readonly group: string;
  /** Ends the current wait: there may be work. */
  wake(): void;
}

interface ClaimedRow extends MessageRow {
  seq: number;
  attempt: number;
  tries: number;
  first_failed_at: number | null;
  delivery_topic: string;
  delivery_key: string | null;
  /** Null when the message row is gone (a hand-made or damaged delivery). */
  message_seq: number | null;
}

/**
 * One claimed delivery. It holds a concurrency slot while it is unsettled and its lease (as this
 * process knows it) has not run out: the contract counts unsettled deliveries, and a handler that
 * returns without settling keeps its slot until the delivery goes back to the group.
 */
interface Claimed {
  readonly seq: number;
  readonly token: number;
  readonly messageId: string;
  leaseUntil: number;
  /** A settle was called, or the delivery was released: later settles do nothing. */
  settled: boolean;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** The reason given to aborted sleeps: one shared value, as the default reason costs a stack trace. */
const STOPPED = Object.freeze({ name: 'Stopped', message: 'the wait was cut short' });
/** Lease tokens are random per claim: a stale holder cannot guess the token of the next one. */
const MAX_TOKEN = 2 ** 48 - 1;

/**
 * Starts the loop of one consumer: claim up to the free concurrency slots, run the handler on each
 * without waiting for the others, claim again as slots free, and otherwise sleep until a publish, a
 * nack or the poll interval says there may be work.
 *
 * @internal
 */
export function startConsumer(
  context: ConsumerContext,
  consume: ConsumeOptions,
  handler: DeliveryHandler,
): RunningConsumer {
  const { db, options, writes } = context;
  const { clock, pollIntervalMs } = options;
  const { channel, group, concurrency, ordered, leaseMs } = consume;
  const topics = [...new Set(consume.topics)];
  const marks = topics.map(() => '?').join(', ');

  db.transaction(() => {
    const subscribe = db.prepare(
      `INSERT INTO tidings_subscriptions (channel, topic, group_name, subscribed_at, ordered) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (channel, topic, group_name) DO UPDATE SET ordered = excluded.ordered`,
    );
    const now = clock.now();
    for (const topic of topics) subscribe.run(channel, topic, group, now, ordered ? 1 : 0);
  }).immediate();

  // Per key, only the oldest unsettled delivery is eligible: a leased or delayed one parks its key.
  const keyIsFree = ordered
    ? `AND (d.key IS NULL OR NOT EXISTS (
         SELECT 1 FROM tidings_deliveries p
         WHERE p.group_name = d.group_name AND p.channel = d.channel AND p.key = d.key AND p.seq < d.seq
           AND p.topic IN (${marks})))`
    : '';
  const candidates = db.prepare<unknown[], ClaimedRow>(
    `SELECT d.seq, d.attempt, d.tries, d.first_failed_at, d.topic AS delivery_topic, d.key AS delivery_key,
            m.seq AS message_seq, m.id, m.topic, m.key, m.headers, m.body
     FROM tidings_deliveries d LEFT JOIN tidings_messages m ON m.seq = d.seq
     WHERE d.group_name = ? AND d.channel = ? AND d.available_at <= ? AND d.topic IN (${marks}) ${keyIsFree}
     ORDER BY d.available_at, d.seq LIMIT ?`,
  );
  // Without a write lock: idle consumers (of every process) poll with this, not with a claim.
  const anyCandidate = db
    .prepare<unknown[], number>(
      `SELECT 1 FROM tidings_deliveries d
       WHERE d.group_name = ? AND d.channel = ? AND d.available_at <= ? AND d.topic IN (${marks}) ${keyIsFree}
       LIMIT 1`,
    )
    .pluck();
  const lease = db.prepare(
    `UPDATE tidings_deliveries SET attempt = attempt + 1, available_at = ?, lease_token = ?
     WHERE group_name = ? AND seq IN (SELECT value FROM json_each(?))`,
  );
  // The attempt is counted, and the lease taken, before any handler runs: a crash loop is visible.
  const claim = (now: number, token: number, limit: number): ClaimedRow[] => {
    const rows = candidates.all(group, channel, now, ...topics, ...(ordered ? topics : []), limit);
    if (rows.length > 0) lease.run(now + leaseMs, token, group, JSON.stringify(rows.map((row) => row.seq)));
    return rows;
  };
  const nextDue = db
    .prepare<unknown[], number | null>(
      `SELECT min(available_at) FROM tidings_deliveries
       WHERE group_name = ? AND channel = ? AND available_at > ? AND topic IN (${marks})`,
    )
    .pluck();
  const ack = db.prepare(
    'DELETE FROM tidings_deliveries WHERE seq = ? AND group_name = ? AND lease_token = ?',
  );
  const nack = db.prepare(
    `UPDATE tidings_deliveries
     SET available_at = ?, lease_token = NULL, tries = tries + ?, first_failed_at = coalesce(first_failed_at, ?)
     WHERE seq = ? AND group_name = ? AND lease_token = ?`,
  );
  const touch = db.prepare(
    'UPDATE tidings_deliveries SET available_at = ? WHERE seq = ? AND group_name = ? AND lease_token = ?',
  );
  // Releasing hands a delivery back as it is: the attempt it used stays counted, nothing else changes.
  const releaseLease = db.prepare(
    'UPDATE tidings_deliveries SET available_at = ?, lease_token = NULL WHERE seq = ? AND group_name = ? AND lease_token = ?',
  );

  const inFlight = new Set<Claimed>();
  let stopping = false;
  let waitingForSlot = false;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const report = (error: unknown, where: SqliteErrorContext['where'], messageId?: string): void => {
    try {
      options.onError(error, { where, channel, group, messageId });
    } catch {
      // A throwing error reporter must not stop the loop either.
    }
  };
  const runs = handlerRuns(handler, report);

  const wake = (): void => {
    woken = true;
    wakeUp?.();
  };

  /** Waits for a wake-up, or `ms` of the clock when given. */
  const wait = async (ms: number | undefined): Promise<void> => {
    if (woken) {
      woken = false;
      return;
    }
    const controller = new AbortController();
    const woke = new Promise<void>((resolve) => {
      wakeUp = resolve;
    });
    try {
      if (ms === undefined) await woke;
      else await Promise.race([woke, clock.sleep(ms, controller.signal).catch(() => undefined)]);
    } finally {
      controller.abort(STOPPED);
      wakeUp = undefined;
      woken = false;
    }
  };

  const freeSlot = (entry: Claimed): void => {
    if (inFlight.delete(entry) && waitingForSlot) wake();
  };

  /** A settle: at most one per delivery, and a no-op in the database once the lease moved on. */
  const settle = (entry: Claimed, write: () => unknown, after?: () => void): Promise<void> => {
    if (entry.settled || context.closed()) return Promise.resolve();
    entry.settled = true;
    freeSlot(entry);
    return writes.run(write).then(() => {
      // In order, settling a key's head makes its next message eligible.
      if (ordered) wake();
      after?.();
    });
  };

  const makeDelivery = (
    row: ClaimedRow,
    token: number,
    leaseUntil: number,
  ): { delivery: Delivery; entry: Claimed } => {
    // A delivery whose message row is gone still reaches the bus, which dead-letters it as invalid.
    const message = rowToMessage(
      row.message_seq === null
        ? { id: '', topic: row.delivery_topic, key: row.delivery_key, headers: '{}', body: null }
        : row,
    );
    const entry: Claimed = {
      seq: row.seq,
      token,
      messageId: message.id,
      leaseUntil,
      settled: false,
    };
    const delivery: Delivery = {
      message,
      group,
      // The row was read before the claim counted this attempt.
      attempt: row.attempt + 1,
      firstFailedAt: row.first_failed_at ?? undefined,
      previousTries: row.tries,
      ack: () => settle(entry, () => ack.run(row.seq, group, token)),
      nack: (nackOptions = {}) => {
        const now = clock.now();
        const delay = nackOptions.delayMs;
        const availableAt = delay !== undefined && Number.isFinite(delay) && delay > 0 ? now + delay : now;
        const tries =
          nackOptions.tries !== undefined && Number.isInteger(nackOptions.tries)
            ? Math.max(0, nackOptions.tries)
            : 1;
        const failedAt = nackOptions.failedAt ?? now;
        return settle(
          entry,
          () => nack.run(availableAt, tries, failedAt, row.seq, group, token),
          () => context.wakeGroup(group),
        );
      },
      deadLetter: (failure) =>
        settle(entry, () =>
          context.deadLetters.move({ channel, group, seq: row.seq, leaseToken: token, message, failure }),
        ),
      touch: async () => {
        if (entry.settled || context.closed()) return;
        const until = clock.now() + leaseMs;
        entry.leaseUntil = until;
        await writes.run(() => touch.run(until, row.seq, group, token));
      },
    };
    return { delivery, entry };
  };

  const dispatch = (delivery: Delivery, entry: Claimed): void => {
    inFlight.add(entry);
    runs.start(delivery, entry.messageId);
  };

  /**
   * Claims as many deliveries as there are free slots. It runs in the write queue, so the acks that
   * freed the slots and the claim that refills them share one commit.
   */
  const claimBatch = (): { rows: ClaimedRow[]; limit: number; token: number; leaseUntil: number } => {
    const limit = concurrency - inFlight.size;
    const now = clock.now();
    const token = randomInt(MAX_TOKEN);
    if (limit <= 0 || stopping) return { rows: [], limit, token, leaseUntil: now + leaseMs };
    return { rows: claim(now, token, limit), limit, token, leaseUntil: now + leaseMs };
  };

  /** Forgets the leases that ran out (their deliveries went back to the group); returns the next expiry. */
  const expireLeases = (now: number): number => {
    let next = Number.POSITIVE_INFINITY;
    for (const entry of inFlight) {
      if (entry.leaseUntil <= now) {
        freeSlot(entry);
      } else {
        next = Math.min(next, entry.leaseUntil);
      }
    }
    return next;
  };

  const idleWait = (): number => {
    const now = clock.now();
    const due = nextDue.get(group, channel, now, ...topics);
    return due == null ? pollIntervalMs : Math.max(0, Math.min(pollIntervalMs, due - now));
  };

  /** Claims and hands out deliveries; true when the batch was full (more is probably waiting). */
  const claimAndDispatch = async (): Promise<boolean> => {
    const { rows, limit, token, leaseUntil } = await writes.runSoon(claimBatch);
    for (const row of rows) {
      const { delivery, entry } = makeDelivery(row, token, leaseUntil);
      dispatch(delivery, entry);
    }
    return limit > 0 && rows.length === limit;
  };

  const workWaiting = (): boolean =>
    anyCandidate.get(group, channel, clock.now(), ...topics, ...(ordered ? topics : [])) !== undefined;

  const loop = async (): Promise<void> => {
    let full = false;
    while (!stopping) {
      const nextExpiry = expireLeases(clock.now());
      if (inFlight.size >= concurrency) {
        // Every slot is taken: wait for one to free, or for a lease of ours to run out.
        waitingForSlot = true;
        await wait(Number.isFinite(nextExpiry) ? Math.max(0, nextExpiry - clock.now()) : undefined);
        waitingForSlot = false;
        // Let the other deliveries settling in this turn free their slots too, so that one claim
        // refills them all instead of one claim (and one commit) per slot.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      try {
        // After a full batch, claim again; otherwise look first, without taking the write lock.
        full = (full || workWaiting()) && (await claimAndDispatch());
        if (full) continue;
        context.housekeeping();
        await wait(idleWait());
      } catch (error) {
        full = false;
        if (stopping) break;
        report(error, 'claim');
        await wait(pollIntervalMs);
      }
    }
  };
  const looping = loop();

  const close = async (closeOptions: { timeoutMs?: number } = {}): Promise<void> => {
    stopping = true;
    // The deadline runs from the call, not from when the loop has stopped.
    const timer = new AbortController();
    const deadline = clock
      .sleep(closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, timer.signal)
      .catch(() => undefined);
    wake();
    await looping;
    // Handlers settle their deliveries; once none runs, what is still unsettled will stay so.
    if (runs.running() > 0) await Promise.race([runs.idle(), deadline]);
    timer.abort(STOPPED);
    const unsettled = [...inFlight];
    inFlight.clear();
    for (const entry of unsettled) entry.settled = true;
    if (unsettled.length > 0 && !context.closed()) {
      const now = clock.now();
      await writes
        .run(() => {
          for (const entry of unsettled) releaseLease.run(now, entry.seq, group, entry.token);
        })
        .then(
          () => context.wakeGroup(group),
          (error: unknown) => report(error, 'release'),
        );
    }
    context.forget(consumer);
  };

  const consumer: RunningConsumer = {
    channel,
    group,
    wake,
    close: (closeOptions) => {
      closing ??= close(closeOptions);
      return closing;
    },
  };
  return consumer;
}
