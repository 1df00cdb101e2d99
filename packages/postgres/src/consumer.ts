import { randomInt } from 'node:crypto';
import type { Pool } from 'pg';
import type { ConsumeOptions, Delivery, DeliveryHandler, TransportConsumer } from '@tidings/core';
import type { DeadLetters } from './dead-letters.ts';
import { rowToMessage, handlerRuns } from '@tidings/core';
import type { PostgresErrorContext, ResolvedTransportOptions } from './options.ts';
import { backoffMs } from './backoff.ts';
import { asUnavailable, isConnectionError } from './errors.ts';

/** What a consumer borrows from its transport. @internal */
export interface ConsumerContext {
  readonly pool: Pool;
  /** The quoted schema. */
  readonly schema: string;
  readonly notifyChannel: string;
  readonly options: ResolvedTransportOptions;
  readonly deadLetters: DeadLetters;
  readonly closed: () => boolean;
  /** Wakes this transport's consumers of a group (a nack or a release made work available). */
  readonly wakeGroup: (group: string) => void;
  /** Retention cleanup, when it is due. */
  readonly housekeeping: () => Promise<void>;
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

interface ClaimedRow {
  seq: string;
  attempt: number;
  tries: number;
  first_failed_at: string | null;
  delivery_topic: string;
  delivery_key: string | null;
  /** Null when the message row is gone (a hand-made or damaged delivery). */
  message_seq: string | null;
  id: unknown;
  topic: unknown;
  key: unknown;
  headers: unknown;
  body: unknown;
}

/** One claimed delivery; it holds a concurrency slot while unsettled and its lease has not run out. */
interface Claimed {
  readonly seq: number;
  readonly token: number;
  readonly messageId: string;
  leaseUntil: number;
  /** A settle was called, or the delivery was released: later settles do nothing. */
  settled: boolean;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
const STOPPED = Object.freeze({ name: 'Stopped', message: 'the wait was cut short' });
/** Lease tokens are random per claim: a stale holder cannot guess the token of the next one. */
const MAX_TOKEN = 2 ** 48 - 1;

/** The first wait before a settle lost with its connection is tried again. */
const SETTLE_RETRY_MS = 50;

/** Times are whole ms in bigint columns; a fractional delay (jittered backoff) rounds up. */
const ms = (value: number): number => Math.ceil(value);

/**
 * Starts the loop of one consumer: claim up to the free concurrency slots with one
 * `UPDATE … FOR UPDATE SKIP LOCKED` statement that also counts the attempt and takes the lease, run
 * the handler on each without waiting for the others, and otherwise sleep until a notification, a
 * nack, the next delayed delivery or the poll interval.
 *
 * @internal
 */
export async function startConsumer(
  context: ConsumerContext,
  consume: ConsumeOptions,
  handler: DeliveryHandler,
): Promise<RunningConsumer> {
  const { pool, schema: s, options } = context;
  const { clock, pollIntervalMs } = options;
  const { channel, group, concurrency, ordered, leaseMs } = consume;
  const topics = [...new Set(consume.topics)];

  await pool.query(
    `INSERT INTO ${s}.subscriptions (channel, topic, group_name, subscribed_at, ordered)
     SELECT $1, t, $2, $3, $4 FROM unnest($5::text[]) AS t
     ON CONFLICT (channel, topic, group_name) DO UPDATE SET ordered = excluded.ordered`,
    [channel, group, ms(clock.now()), ordered, topics],
  );

  // Per key, only the oldest unsettled delivery is eligible: a leased or delayed one parks its key.
  // Row locks do not hide rows from NOT EXISTS, so a head claimed right now by another member still parks.
  const keyIsFree = ordered
    ? `AND (d.key IS NULL OR NOT EXISTS (
         SELECT 1 FROM ${s}.deliveries p
         WHERE p.group_name = d.group_name AND p.channel = d.channel AND p.key = d.key AND p.seq < d.seq
           AND p.topic = ANY($4::text[])))`
    : '';
  // Claimed rows, not an offset: a row a slow transaction commits late is claimable once visible.
  // The attempt is counted, and the lease taken, in the claim itself: a crash loop is visible.
  const claimSql = `
    WITH picked AS (
      SELECT d.seq FROM ${s}.deliveries d
      WHERE d.group_name = $1 AND d.channel = $2 AND d.available_at <= $3 AND d.topic = ANY($4::text[]) ${keyIsFree}
      ORDER BY d.available_at, d.seq
      LIMIT $5
      FOR UPDATE OF d SKIP LOCKED
    ), claimed AS (
      UPDATE ${s}.deliveries d SET attempt = d.attempt + 1, available_at = $6, lease_token = $7
      FROM picked WHERE d.group_name = $1 AND d.seq = picked.seq
      RETURNING d.seq, d.attempt, d.tries, d.first_failed_at, d.topic, d.key, d.available_at
    )
    SELECT c.seq, c.attempt, c.tries, c.first_failed_at, c.topic AS delivery_topic, c.key AS delivery_key,
           m.seq AS message_seq, m.id, m.topic, m.key, m.headers, m.body
    FROM claimed c LEFT JOIN ${s}.messages m ON m.seq = c.seq
    ORDER BY c.seq`;
  const nextDueSql = `SELECT min(available_at) AS due FROM ${s}.deliveries
    WHERE group_name = $1 AND channel = $2 AND available_at > $3 AND topic = ANY($4::text[])`;
  // Acks that arrive in the same turn share one statement, hence one commit (and one fsync).
  const ackSql = `DELETE FROM ${s}.deliveries d USING unnest($1::bigint[], $2::bigint[]) AS a(seq, token)
    WHERE d.group_name = $3 AND d.seq = a.seq AND d.lease_token = a.token`;
  const nackSql = `UPDATE ${s}.deliveries
    SET available_at = $1, lease_token = NULL, tries = tries + $2, first_failed_at = coalesce(first_failed_at, $3)
    WHERE seq = $4 AND group_name = $5 AND lease_token = $6`;
  const touchSql = `UPDATE ${s}.deliveries SET available_at = $1 WHERE seq = $2 AND group_name = $3 AND lease_token = $4`;
  // Releasing hands a delivery back as it is: the attempt it used stays counted, nothing else changes.
  const releaseSql = `UPDATE ${s}.deliveries SET available_at = $1, lease_token = NULL
    WHERE seq = $2 AND group_name = $3 AND lease_token = $4`;

  let acks: { seq: number; token: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  const flushAcks = (): void => {
    const batch = acks;
    acks = [];
    pool.query(ackSql, [batch.map((a) => a.seq), batch.map((a) => a.token), group]).then(
      () => {
        for (const a of batch) a.resolve();
      },
      (error: unknown) => {
        for (const a of batch) a.reject(error);
      },
    );
  };
  const ack = (seq: number, token: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (acks.length === 0) setImmediate(flushAcks);
      acks.push({ seq, token, resolve, reject });
    });

  const inFlight = new Set<Claimed>();
  let stopping = false;
  let waitingForSlot = false;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const report = (error: unknown, where: PostgresErrorContext['where'], messageId?: string): void => {
    try {
      options.onError(where === 'handler' ? error : asUnavailable(error, `${where} for group ${group}`), {
        where,
        channel,
        group,
        messageId,
      });
    } catch {
      // A throwing error reporter must not stop the loop either.
    }
  };
  const runs = handlerRuns(handler, report);

  const wake = (): void => {
    woken = true;
    wakeUp?.();
  };

  /** Waits for a wake-up (also one that came while the last query ran), or `ms` of the clock when given. */
  const wait = async (waitMs: number | undefined): Promise<void> => {
    if (woken) {
      woken = false;
      return;
    }
    const controller = new AbortController();
    const woke = new Promise<void>((resolve) => {
      wakeUp = resolve;
    });
    try {
      if (waitMs === undefined) await woke;
      else await Promise.race([woke, clock.sleep(waitMs, controller.signal).catch(() => undefined)]);
    } finally {
      controller.abort(STOPPED);
      wakeUp = undefined;
      woken = false;
    }
  };

  const freeSlot = (entry: Claimed): void => {
    if (inFlight.delete(entry) && waitingForSlot) wake();
  };

  /**
   * Writes a settle, again while its lease lasts when the connection was lost: a pooled connection
   * the server dropped fails once, and the next one works. Every settle acts only on rows that still
   * carry the claim's token, so a repeat of one that did commit changes nothing. Once the lease is
   * over, the delivery goes back to the group and is redelivered: nothing is lost either way.
   */
  const writeWhileLeased = async (entry: Claimed, write: () => Promise<unknown>): Promise<void> => {
    for (let failures = 1; ; failures += 1) {
      try {
        await write();
        return;
      } catch (error) {
        const delay = backoffMs(failures, SETTLE_RETRY_MS);
        if (!isConnectionError(error) || context.closed() || clock.now() + delay >= entry.leaseUntil) {
          throw asUnavailable(error, 'settle the delivery');
        }
        await clock.sleep(delay).catch(() => undefined);
      }
    }
  };

  const settle = async (entry: Claimed, write: () => Promise<unknown>, after?: () => void): Promise<void> => {
    if (entry.settled || context.closed()) return;
    entry.settled = true;
    freeSlot(entry);
    await writeWhileLeased(entry, write);
    // In order, settling a key's head makes its next message eligible.
    if (ordered) wake();
    after?.();
  };

  const makeDelivery = (
    row: ClaimedRow,
    token: number,
    leaseUntil: number,
  ): { delivery: Delivery; entry: Claimed } => {
    const seq = Number(row.seq);
    // A delivery whose message row is gone still reaches the bus, which dead-letters it as invalid.
    const message = rowToMessage(
      row.message_seq === null
        ? { id: '', topic: row.delivery_topic, key: row.delivery_key, headers: '{}', body: null }
        : row,
    );
    const entry: Claimed = { seq, token, messageId: message.id, leaseUntil, settled: false };
    const delivery: Delivery = {
      message,
      group,
      // The claim returns the counter it stored: this attempt is already counted.
      attempt: row.attempt,
      firstFailedAt: row.first_failed_at === null ? undefined : Number(row.first_failed_at),
      previousTries: row.tries,
      ack: () => settle(entry, () => ack(seq, token)),
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
          () => pool.query(nackSql, [ms(availableAt), tries, ms(failedAt), seq, group, token]),
          () => context.wakeGroup(group),
        );
      },
      deadLetter: (failure) =>
        settle(entry, () =>
          context.deadLetters.move({ channel, group, seq, leaseToken: token, message, failure }),
        ),
      touch: async () => {
        if (entry.settled || context.closed()) return;
        const until = clock.now() + leaseMs;
        entry.leaseUntil = until;
        await pool.query(touchSql, [ms(until), seq, group, token]).catch((error: unknown) => {
          throw asUnavailable(error, 'extend the lease');
        });
      },
    };
    return { delivery, entry };
  };

  const dispatch = (delivery: Delivery, entry: Claimed): void => {
    inFlight.add(entry);
    runs.start(delivery, entry.messageId);
  };

  /** Forgets the leases that ran out (their deliveries went back to the group); returns the next expiry. */
  const expireLeases = (now: number): number => {
    let next = Number.POSITIVE_INFINITY;
    for (const entry of inFlight) {
      if (entry.leaseUntil <= now) freeSlot(entry);
      else next = Math.min(next, entry.leaseUntil);
    }
    return next;
  };

  /** Claims and hands out deliveries; true when the batch was full (more is probably waiting). */
  const claimAndDispatch = async (now: number): Promise<boolean> => {
    const limit = concurrency - inFlight.size;
    if (limit <= 0) return false;
    const token = randomInt(MAX_TOKEN);
    const leaseUntil = now + leaseMs;
    const { rows } = await pool.query<ClaimedRow>(claimSql, [
      group,
      channel,
      ms(now),
      topics,
      limit,
      ms(leaseUntil),
      token,
    ]);
    // Closed while the claim ran: hand the rows straight back rather than start handlers.
    if (stopping) {
      for (const row of rows) await pool.query(releaseSql, [ms(now), Number(row.seq), group, token]);
      return false;
    }
    for (const row of rows) {
      const { delivery, entry } = makeDelivery(row, token, leaseUntil);
      dispatch(delivery, entry);
    }
    return rows.length === limit;
  };

  /** When to look again: the poll interval, or sooner when a delayed delivery falls due. */
  const nextLook = async (now: number): Promise<number> => {
    const { rows } = await pool.query<{ due: string | null }>(nextDueSql, [group, channel, ms(now), topics]);
    const due = rows[0]?.due;
    return due == null ? now + pollIntervalMs : Math.min(now + pollIntervalMs, Number(due));
  };

  const loop = async (): Promise<void> => {
    // Claims that failed in a row: the wait before the next doubles while the server stays away.
    let failures = 0;
    while (!stopping) {
      const nextExpiry = expireLeases(clock.now());
      if (inFlight.size >= concurrency) {
        waitingForSlot = true;
        await wait(Number.isFinite(nextExpiry) ? Math.max(0, nextExpiry - clock.now()) : undefined);
        waitingForSlot = false;
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      try {
        // A wake-up that arrives while the queries run must not be lost: it makes the wait return at once.
        woken = false;
        const now = clock.now();
        const full = await claimAndDispatch(now);
        failures = 0;
        if (full) continue;
        await context.housekeeping();
        const at = await nextLook(now);
        // Deadlines are absolute: time that passed during the queries (or a test clock that jumped)
        // shortens the sleep instead of being lost.
        await wait(Math.max(0, at - clock.now()));
      } catch (error) {
        if (stopping) break;
        failures += 1;
        report(error, 'claim');
        // A wake-up (a publish of this process went through, LISTEN is back) tries again at once.
        await wait(backoffMs(failures, pollIntervalMs));
      }
    }
  };
  const looping = loop();

  const close = async (closeOptions: { timeoutMs?: number } = {}): Promise<void> => {
    stopping = true;
    const timer = new AbortController();
    const deadline = clock
      .sleep(closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, timer.signal)
      .catch(() => undefined);
    wake();
    await looping;
    if (runs.running() > 0) await Promise.race([runs.idle(), deadline]);
    timer.abort(STOPPED);
    const unsettled = [...inFlight];
    inFlight.clear();
    for (const entry of unsettled) entry.settled = true;
    if (unsettled.length > 0 && !context.closed()) {
      const now = ms(clock.now());
      try {
        for (const entry of unsettled) await pool.query(releaseSql, [now, entry.seq, group, entry.token]);
        await pool.query('SELECT pg_notify($1, $2)', [context.notifyChannel, channel]);
        context.wakeGroup(group);
      } catch (error) {
        report(error, 'release');
      }
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
