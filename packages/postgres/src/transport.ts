import type { Pool } from 'pg';
import { checkPublish, systemClock, TidingsError } from '@tidings/core';
import { openPool } from './pool.ts';
import type {
  DeadLetterStorage,
  DoctorCapable,
  DoctorFinding,
  Transport,
  TransportCapabilities,
} from '@tidings/core';
import { startConsumer } from './consumer.ts';
import type { RunningConsumer } from './consumer.ts';
import { createDeadLetters } from './dead-letters.ts';
import { backoffMs } from './backoff.ts';
import { postgresDoctor } from './doctor.ts';
import type { PostgresDoctorOptions } from './doctor.ts';
import { asUnavailable } from './errors.ts';
import { checkConsumeOptions, resolveTransportOptions } from './options.ts';
import type { PostgresErrorContext, PostgresTransportOptions } from './options.ts';
import { createPublisher, POSTGRES_MAX_MESSAGE_BYTES } from './publish.ts';
import { migrate, quote } from './schema.ts';

/** What the postgres transport promises; see docs/transports/postgres.md. */
export const POSTGRES_CAPABILITIES: TransportCapabilities = Object.freeze({
  persistent: true,
  consumerGroups: true,
  ordering: 'per-subject',
  delayedDelivery: true,
  deliveryCounter: true,
  leases: true,
  duplicates: 'only-after-failure',
  maxMessageBytes: POSTGRES_MAX_MESSAGE_BYTES,
});

/** The postgres transport: a {@link Transport}, plus the pool it works on and its doctor checks. */
export interface PostgresTransport extends Transport, DoctorCapable {
  /** The pool, to share with the application's own queries. */
  readonly pool: Pool;
  /**
   * Reads the server's settings and activity and reports where they break a promise of the transport:
   * durability (`fsync`, `synchronous_commit`, `full_page_writes`), transactions left open, the
   * schema's version and its dead letters. Changes nothing.
   *
   * @throws TidingsError `TIDINGS_UNAVAILABLE` when the server cannot be reached.
   */
  doctor(options?: PostgresDoctorOptions): Promise<readonly DoctorFinding[]>;
}

const CLEANUP_EVERY_MS = 1000;
const CLEANUP_BATCH = 1000;
/** The first wait before LISTEN connects again after a drop; it doubles while the server stays away. */
const LISTEN_RETRY_MS = 250;

/**
 * The PostgreSQL transport: consumer groups, leases, delayed retries, per-subject order and dead
 * letters in a few tables of one schema.
 *
 * A publish is one statement (the messages, one delivery row per subscribed group, and a NOTIFY sent
 * at commit). Consumers claim delivery rows with `FOR UPDATE SKIP LOCKED` and a lease; they keep no
 * offset, so a row committed late by a slow transaction is never skipped. LISTEN/NOTIFY wakes idle
 * consumers at once; polling every `pollIntervalMs` is the fallback.
 *
 * @example
 * const transport = postgresTransport({ connectionString: 'postgres://localhost/app' });
 * const bus = createBus({ catalog, transport });
 * // …
 * await transport.close(); // drains consumers, then ends the pool it opened
 */
export function postgresTransport(options: PostgresTransportOptions): PostgresTransport {
  const resolved = resolveTransportOptions(options);
  const { clock } = resolved;
  const { pool, owned } = openPool(options, resolved);
  const report = (error: unknown, where: PostgresErrorContext['where']): void => {
    const what =
      where === 'listen'
        ? 'listen for wake-ups'
        : where === 'cleanup'
          ? 'clean up settled messages'
          : 'keep a pooled connection';
    try {
      resolved.onError(asUnavailable(error, what), { where });
    } catch {
      // A throwing error reporter must not take the transport down.
    }
  };
  // An idle client that errors (server restart, cut network) must not crash the process: without a
  // listener, the pool's 'error' event would. The pool drops the client and connects anew when asked.
  const onPoolError = (error: unknown): void => report(error, 'connection');
  if (owned) pool.on('error', onPoolError);
  const s = quote(resolved.schema);
  const notifyChannel = `tidings.${resolved.schema}`;
  // Migrated once; a failure (server down at start) is retried by the next publish or consume.
  let migrated: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    migrated ??= migrate(pool, resolved.schema).catch((error: unknown) => {
      migrated = undefined;
      throw error;
    });
    return migrated;
  };
  // Started now; until a publish or consume awaits it, a failure must not be an unhandled rejection.
  ready().catch(() => undefined);

  const consumers = new Set<RunningConsumer>();
  let accepting = true;
  let closed = false;
  let closing: Promise<void> | undefined;
  const isClosed = (): boolean => closed;

  const wakeGroup = (group: string): void => {
    for (const consumer of consumers) if (consumer.group === group) consumer.wake();
  };
  const wakeChannel = (channel: string): void => {
    for (const consumer of consumers) if (consumer.channel === channel) consumer.wake();
  };
  const deadLetters = createDeadLetters({
    pool,
    schema: s,
    notifyChannel,
    clock,
    closed: isClosed,
    wake: wakeGroup,
  });
  const publishAll = createPublisher(pool, s, notifyChannel);
  // An operator may list dead letters before anything was published: the tables come first.
  const storage = deadLetters.storage;
  const migratedFirst = async <T>(work: () => Promise<T>): Promise<T> => {
    await ready().catch((error: unknown) => {
      throw asUnavailable(error, 'dead letters');
    });
    return work();
  };
  const deadLetterStorage: DeadLetterStorage = {
    list: (query) => migratedFirst(() => storage.list(query)),
    get: (id) => migratedFirst(() => storage.get(id)),
    replay: (id) => migratedFirst(() => storage.replay(id)),
    discard: (ids) => migratedFirst(() => storage.discard(ids)),
    depth: () => migratedFirst(() => storage.depth()),
  };

  // LISTEN on one held client, started with the first consumer; reconnects with backoff after a drop.
  let stopListening: (() => void) | undefined;
  let listening: Promise<void> | undefined;
  const stopRetrying = new AbortController();
  /** Holds one LISTEN until the connection drops or the transport closes; true when it listened. */
  const listenOnce = async (): Promise<boolean> => {
    const client = await pool.connect();
    try {
      // Listeners first: an 'error' on a checked-out client without one would crash the process.
      const dropped = new Promise<void>((resolve) => {
        client.on('error', (error) => {
          report(error, 'listen');
          resolve();
        });
        client.on('end', () => resolve());
        stopListening = resolve;
      });
      client.on('notification', (note) => {
        if (note.payload !== undefined) wakeChannel(note.payload);
      });
      if (!accepting) return false;
      await client.query(`LISTEN ${quote(notifyChannel)}`);
      // Something may have been published while we were not listening.
      for (const consumer of consumers) consumer.wake();
      await dropped;
      return true;
    } finally {
      stopListening = undefined;
      // Destroyed, not returned: a LISTENing client must not serve other queries.
      client.release(true);
    }
  };
  const listen = async (): Promise<void> => {
    let failures = 0;
    while (!closed && accepting) {
      try {
        failures = (await listenOnce()) ? 1 : failures + 1;
      } catch (error) {
        if (closed || !accepting) return;
        failures += 1;
        report(error, 'listen');
      }
      if (closed || !accepting) return;
      await systemClock
        .sleep(backoffMs(failures, LISTEN_RETRY_MS), stopRetrying.signal)
        .catch(() => undefined);
    }
  };

  let lastCleanup = Number.NEGATIVE_INFINITY;
  let cleaning = false;
  // Retention: messages every group has settled go after retentionMs, a bounded batch at a time.
  const housekeeping = async (): Promise<void> => {
    const now = clock.now();
    if (closed || cleaning || now - lastCleanup < CLEANUP_EVERY_MS) return;
    lastCleanup = now;
    cleaning = true;
    try {
      await pool.query(
        `DELETE FROM ${s}.messages WHERE seq IN (
           SELECT m.seq FROM ${s}.messages m
           WHERE m.published_at < $1 AND NOT EXISTS (SELECT 1 FROM ${s}.deliveries d WHERE d.seq = m.seq)
           LIMIT $2)`,
        [Math.floor(now - resolved.retentionMs), CLEANUP_BATCH],
      );
    } catch (error) {
      report(error, 'cleanup');
    } finally {
      cleaning = false;
    }
  };

  const ensureOpen = (what: string, open: boolean): void => {
    if (!open) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: the postgres transport is closed. Create a new transport.`,
      );
    }
  };

  const transport: PostgresTransport = {
    name: 'postgres',
    capabilities: POSTGRES_CAPABILITIES,
    deadLetters: deadLetterStorage,
    pool,

    async publish(channel, messages) {
      ensureOpen('publish', !closed);
      checkPublish('postgresTransport', channel, messages, POSTGRES_MAX_MESSAGE_BYTES);
      if (messages.length === 0) return;
      try {
        await ready();
        await publishAll(channel, messages, Math.floor(clock.now()));
      } catch (error) {
        throw asUnavailable(error, 'publish');
      }
      wakeChannel(channel);
    },

    async consume(consumeOptions, handler) {
      ensureOpen('consume', accepting);
      checkConsumeOptions(consumeOptions, handler);
      await ready().catch((error: unknown) => {
        throw asUnavailable(error, 'consume');
      });
      listening ??= listen();
      const consumer = await startConsumer(
        {
          pool,
          schema: s,
          notifyChannel,
          options: resolved,
          deadLetters,
          closed: isClosed,
          wakeGroup,
          housekeeping,
          forget: (done) => consumers.delete(done),
        },
        consumeOptions,
        handler,
      ).catch((error: unknown) => {
        throw asUnavailable(error, 'consume');
      });
      consumers.add(consumer);
      return consumer;
    },

    async doctor(doctorOptions) {
      ensureOpen('run the doctor', !closed);
      return postgresDoctor(pool, resolved.schema, doctorOptions);
    },

    close() {
      accepting = false;
      closing ??= (async () => {
        await Promise.all([...consumers].map((consumer) => consumer.close()));
        closed = true;
        stopRetrying.abort();
        stopListening?.();
        await listening;
        await migrated?.catch(() => undefined);
        if (owned) await pool.end();
      })();
      return closing;
    },
  };
  return transport;
}
