import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isTidingsError } from '@tidings/core';
import type {
  ConsumeOptions,
  Delivery,
  DeliveryHandler,
  TransportConsumer,
  TransportMessage,
} from '@tidings/core';
import { createAckBatcher } from './ack-batcher.ts';
import { command, connect, type Connection, MAX_RECONNECT_DELAY_MS, type RedisClient } from './client.ts';
import type { DeadLetters } from './dead-letters.ts';
import {
  type Claimed,
  type Counted,
  countedAt,
  createDelivery,
  type DeliveryParts,
  leaseArgs,
  type Source,
} from './delivery.ts';
import { isConnectionError } from './errors.ts';
import { fieldsToMessage, type Keys } from './mapping.ts';
import type { RedisErrorContext, ResolvedTransportOptions } from './options.ts';
import * as scripts from './scripts.ts';

/** What a consumer borrows from its transport. @internal */
export interface ConsumerContext {
  /** The transport's connection, for everything but the blocking reads. */
  readonly connection: Connection;
  readonly keys: Keys;
  readonly options: ResolvedTransportOptions;
  readonly deadLetters: DeadLetters;
  readonly closed: () => boolean;
  /** Called once the consumer has closed. */
  readonly forget: (consumer: TransportConsumer) => void;
}

/** A stream entry as RESP2 gives it: its id and its flat field list (null for a deleted one). */
type Entry = [string, string[] | null];

/** What XREADGROUP replies: the entries of each stream that had some, or null. */
type ReadReply = [string, Entry[]][] | null;

/** An entry read and parsed, not yet begun. */
interface Live {
  readonly source: Source;
  readonly id: string;
  readonly message: TransportMessage;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** Released entries look idle this long (ms), so the next XAUTOCLAIM of any member takes them. */
const RELEASED_IDLE_MS = 1_000_000_000;
const DELAYED_BATCH = 100;
/** The most entries of one begin script: 3 hash fields each go through Lua's `unpack` (8000 at most). */
const BEGIN_BATCH = 1000;

/** Waits `ms`, or less when `stop` aborts. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stop.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
  });
}

async function createGroup(client: RedisClient, key: string, group: string, from: string): Promise<void> {
  try {
    await command(client, ['XGROUP', 'CREATE', key, group, from, 'MKSTREAM']);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
  }
}

/**
 * Starts one consumer: XREADGROUP (on a connection of its own, since it blocks) up to the free
 * slots from the topic streams and the group's retry streams, one begin script per read and one ack
 * script per batch of acks; and, every quarter lease, XAUTOCLAIMs entries left idle longer than the
 * lease and moves due delayed retries into the retry streams.
 *
 * A group's topic stream group is created at `$` on its first consume: like every transport here,
 * a group receives what is published after it first subscribed.
 *
 * The loop survives Redis going away: while a connection is lost it waits for it to come back (node-redis
 * reconnects with backoff), other errors are reported and retried with backoff, and a group deleted
 * under it (a restart without persistence) is created again. What a lost connection interrupts stays
 * in the group's pending list and comes back through XAUTOCLAIM once its lease runs out.
 *
 * @internal
 */
export async function startConsumer(
  context: ConsumerContext,
  consume: ConsumeOptions,
  handler: DeliveryHandler,
): Promise<TransportConsumer> {
  const { connection, keys, options } = context;
  const { client } = connection;
  const { clock } = options;
  const { channel, group, concurrency, leaseMs } = consume;
  const topics = [...new Set(consume.topics)];
  const consumerName = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const attemptsKey = keys.attempts(channel, group);
  const acks = createAckBatcher(client, group, attemptsKey);

  const sources: Source[] = topics.flatMap((topic) => [
    { key: keys.stream(channel, topic), topic, own: false, cursor: '0-0' },
    { key: keys.retry(channel, topic, group), topic, own: true, cursor: '0-0' },
  ]);
  const createGroups = async (): Promise<void> => {
    for (const source of sources) await createGroup(client, source.key, group, source.own ? '0' : '$');
  };
  await createGroups();
  const sourceByKey = new Map(sources.map((s) => [s.key, s]));
  // Stops the waits of the loop (an outage, a backoff) when the consumer closes.
  const stop = new AbortController();
  const reader = connect(client.duplicate(), (error) => report(error, 'connection'));
  const blocking = reader.client;
  try {
    await reader.whenReady('consume', options.commandTimeoutMs);
  } catch (error) {
    blocking.destroy();
    throw error;
  }

  // Leases are checked every quarter lease (so one runs out at most a quarter late), delays every read.
  const claimEveryMs = Math.max(10, Math.floor(leaseMs / 4));
  const tickMs = Math.max(10, Math.min(options.blockMs, claimEveryMs));
  const inFlight = new Set<Claimed>();
  let stopping = false;
  let lastClaim = Number.NEGATIVE_INFINITY;
  let lastDelayed = Number.NEGATIVE_INFINITY;
  let running = 0;
  let drained: (() => void) | undefined;
  let slotFreed: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  function report(error: unknown, where: RedisErrorContext['where'], messageId?: string): void {
    try {
      options.onError(error, { where, channel, group, messageId });
    } catch {
      // A throwing error reporter must not stop the loop either.
    }
  }

  const freeSlot = (entry: Claimed): void => {
    if (inFlight.delete(entry)) slotFreed?.();
  };

  // A settle that fails (the connection is lost) rejects with TIDINGS_UNAVAILABLE and changes nothing
  // in Redis: the entry stays pending with this delivery's lease, so it comes back once the lease runs
  // out. The slot is freed anyway; the delivery is over for this consumer.
  const settle = async (entry: Claimed, write: () => Promise<unknown>): Promise<void> => {
    if (entry.settled || context.closed()) return;
    entry.settled = true;
    freeSlot(entry);
    await write();
  };

  const parts: DeliveryParts = {
    client,
    keys,
    clock,
    deadLetters: context.deadLetters,
    closed: context.closed,
    acks,
    channel,
    group,
    attemptsKey,
    consumerName,
    leaseMs,
    settle,
  };

  const dispatch = (delivery: Delivery, entry: Claimed): void => {
    inFlight.add(entry);
    running += 1;
    const run = async (): Promise<void> => {
      try {
        await handler(delivery);
      } catch (error) {
        // The bus settles deliveries itself; this is the last resort that keeps the loop alive.
        report(error, 'handler', entry.messageId);
        await delivery.nack().catch((nackError: unknown) => report(nackError, 'settle', entry.messageId));
      }
    };
    void run().finally(() => {
      running -= 1;
      if (running === 0) drained?.();
    });
  };

  /** Makes the delivery of a begun entry and runs it. */
  const startDelivery = (live: Live, token: string, counted: Counted): void => {
    const { delivery, entry } = createDelivery(parts, live.source, live.id, live.message, token, counted);
    dispatch(delivery, entry);
  };

  /**
   * The entries of a read as messages, parsed once, in order. A ghost (an entry trimmed or deleted
   * while pending: nothing to deliver) is acked here and left out.
   */
  const collect = async (found: readonly { source: Source; entries: Entry[] }[]): Promise<Live[]> => {
    const live: Live[] = [];
    for (const { source, entries } of found) {
      const ghosts: string[] = [];
      for (const [id, fields] of entries) {
        if (fields === null) ghosts.push(id);
        else live.push({ source, id, message: fieldsToMessage(fields, source.topic) });
      }
      if (ghosts.length > 0) await command(client, ['XACK', source.key, group, ...ghosts]);
    }
    return live;
  };

  /** Counts the attempts and takes the leases of entries now owned by this consumer, then hands them out. */
  const handOut = async (found: readonly { source: Source; entries: Entry[] }[]): Promise<void> => {
    const live = await collect(found);
    for (let start = 0; start < live.length; start += BEGIN_BATCH) {
      const batch = live.slice(start, start + BEGIN_BATCH);
      const token = randomUUID();
      const counted = await scripts.begin.run<(number | string)[]>(
        client,
        [attemptsKey],
        [token, ...batch.map((e) => e.message.id)],
      );
      batch.forEach((one, i) => startDelivery(one, token, countedAt(counted, i)));
    }
  };

  /** Moves due delayed retries into the retry streams, where any member of the group reads them. */
  const moveDelayed = async (): Promise<void> => {
    const now = clock.now();
    for (const topic of topics) {
      await scripts.moveDue.run(
        client,
        [keys.delayed(channel, topic, group), keys.retry(channel, topic, group)],
        [String(now), String(DELAYED_BATCH)],
      );
    }
  };

  /** Takes over entries of the group left idle longer than the lease, by any member. */
  const claimIdle = async (free: number): Promise<void> => {
    let left = free;
    for (const source of sources) {
      if (left <= 0) break;
      const reply = await command<[string, Entry[], string[]?]>(client, [
        'XAUTOCLAIM',
        source.key,
        group,
        consumerName,
        String(leaseMs),
        source.cursor,
        'COUNT',
        String(left),
      ]);
      source.cursor = reply[0];
      for (const id of reply[2] ?? []) report(new Error(`pending entry ${id} was deleted`), 'claim');
      left -= reply[1].length;
      await handOut([{ source, entries: reply[1] }]);
    }
  };

  const read = async (free: number, blockMs: number): Promise<void> => {
    const reply = await command<ReadReply>(blocking, [
      'XREADGROUP',
      'GROUP',
      group,
      consumerName,
      'COUNT',
      String(free),
      'BLOCK',
      String(blockMs),
      'STREAMS',
      ...sources.map((s) => s.key),
      ...sources.map(() => '>'),
    ]);
    if (reply === null) return;
    const found: { source: Source; entries: Entry[] }[] = [];
    for (const [key, entries] of reply) {
      const source = sourceByKey.get(key);
      if (source !== undefined) found.push({ source, entries });
    }
    await handOut(found);
  };

  const expireLeases = (now: number): number => {
    let next = Number.POSITIVE_INFINITY;
    for (const entry of inFlight) {
      if (entry.leaseUntil <= now) freeSlot(entry);
      else next = Math.min(next, entry.leaseUntil);
    }
    return next;
  };

  const waitForSlot = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      function done(): void {
        clearTimeout(timer);
        slotFreed = undefined;
        resolve();
      }
      slotFreed = done;
    });

  /** What the loop does after an error, so that no error stops it and none makes it spin. */
  let failures = 0;
  const recover = async (error: unknown, where: RedisErrorContext['where']): Promise<void> => {
    failures += 1;
    const lost = isTidingsError(error, 'TIDINGS_UNAVAILABLE') || isConnectionError(error);
    if (lost && (!connection.ready || !reader.ready)) {
      // Reported once by the connection watchers; node-redis reconnects with backoff meanwhile.
      await connection.untilReady(stop.signal);
      await reader.untilReady(stop.signal);
      return;
    }
    report(error, where);
    if (error instanceof Error && error.message.startsWith('NOGROUP')) {
      // The group is gone: a restart without persistence, or an operator. Make it again, from now on.
      await createGroups().catch((again: unknown) => report(again, where));
    }
    const backoff = Math.min(tickMs * 2 ** Math.min(failures - 1, 10), MAX_RECONNECT_DELAY_MS);
    await pause(backoff, stop.signal);
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      let where: RedisErrorContext['where'] = 'read';
      try {
        const now = clock.now();
        const nextExpiry = expireLeases(now);
        const free = concurrency - inFlight.size;
        if (free <= 0) {
          await waitForSlot(Math.min(tickMs, Number.isFinite(nextExpiry) ? nextExpiry - now : tickMs));
          // Let the other deliveries settling in this turn free their slots too, so that one read
          // refills them all instead of one read per slot.
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        if (now - lastDelayed >= tickMs) {
          where = 'delayed';
          lastDelayed = now;
          await moveDelayed();
        }
        if (now - lastClaim >= claimEveryMs) {
          where = 'claim';
          lastClaim = now;
          await claimIdle(free);
          failures = 0;
          continue;
        }
        where = 'read';
        await read(free, tickMs);
        failures = 0;
      } catch (error) {
        if (stopping) break;
        await recover(error, where);
      }
    }
  };
  const looping = loop();

  const close = async (closeOptions: { timeoutMs?: number } = {}): Promise<void> => {
    stopping = true;
    stop.abort();
    const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const done = new Promise<void>((resolve) => {
      drained = resolve;
    });
    slotFreed?.();
    await looping;
    if (running > 0) await Promise.race([done, deadline]);
    // Acks made by the handlers that just finished may still be waiting for their batch.
    await Promise.race([acks.drain(), deadline]);
    clearTimeout(timer);
    const unsettled = [...inFlight];
    inFlight.clear();
    for (const entry of unsettled) entry.settled = true;
    if (!context.closed()) {
      for (const entry of unsettled) {
        await scripts.release
          .run(
            client,
            [entry.source.key, attemptsKey],
            [...leaseArgs(group, entry), consumerName, String(RELEASED_IDLE_MS)],
          )
          .catch((error: unknown) => report(error, 'release', entry.messageId));
      }
    }
    blocking.destroy();
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
