import type Database from 'better-sqlite3';
import { checkPublish, TidingsError } from '@tidings/core';
import type { DoctorCapable, DoctorFinding, Transport, TransportCapabilities } from '@tidings/core';
import { startConsumer } from './consumer.ts';
import type { RunningConsumer } from './consumer.ts';
import { openDatabase } from './database.ts';
import { createDeadLetters } from './dead-letters.ts';
import { sqliteDoctor } from './doctor.ts';
import { promised } from './promised.ts';
import { createPublisher, SQLITE_MAX_MESSAGE_BYTES } from './publish.ts';
import { checkConsumeOptions, resolveTransportOptions } from './options.ts';
import type { SqliteTransportOptions } from './options.ts';
import { createWriteQueue } from './write-queue.ts';

/** What the sqlite transport promises; see docs/transports/sqlite.md. */
export const SQLITE_CAPABILITIES: TransportCapabilities = Object.freeze({
  persistent: true,
  consumerGroups: true,
  ordering: 'per-subject',
  delayedDelivery: true,
  deliveryCounter: true,
  leases: true,
  duplicates: 'only-after-failure',
  maxMessageBytes: SQLITE_MAX_MESSAGE_BYTES,
});

/** The sqlite transport: a {@link Transport}, plus the database it works on and its doctor checks. */
export interface SqliteTransport extends Transport, DoctorCapable {
  /** The open database, to share with an inbox or the application's own tables. */
  readonly database: Database.Database;
  /**
   * Reads the database's settings and reports where they break a promise of the transport: journal
   * mode, `synchronous`, the busy timeout, a file on tmpfs, and the dead letters waiting. Changes nothing.
   */
  doctor(): Promise<readonly DoctorFinding[]>;
}

const CLEANUP_EVERY_MS = 1000;
const CLEANUP_SCAN_ROWS = 2000;

/**
 * The embedded durable transport: messages, consumer groups, leases, delayed retries, per-subject
 * order and dead letters in one SQLite file, shared safely by every process that opens it (WAL).
 *
 * A publish is one transaction (the messages and one delivery per subscribed group) and resolves after
 * it commits. A consumer claims deliveries with a lease and counts the attempt before its handler
 * runs; acks that arrive together share one commit. Consumers in this process wake at once on a
 * publish; other processes see it within `pollIntervalMs`.
 *
 * @example
 * const transport = sqliteTransport({ file: 'shop.db' });
 * const bus = createBus({ catalog, transport });
 * // …
 * await transport.close(); // drains consumers, then closes the file
 */
export function sqliteTransport(options: SqliteTransportOptions): SqliteTransport {
  const resolved = resolveTransportOptions(options);
  const { clock } = resolved;
  const { db, owned } = openDatabase(options, resolved);

  const consumers = new Set<RunningConsumer>();
  const writes = createWriteQueue(db);
  // No new consumers once close() starts; publishing goes on until the consumers have drained, since
  // the handlers still running may publish as part of their work.
  let accepting = true;
  let closed = false;
  let closing: Promise<void> | undefined;
  const isClosed = (): boolean => closed;

  const wakeGroup = (group: string): void => {
    for (const consumer of consumers) if (consumer.group === group) consumer.wake();
  };
  const deadLetters = createDeadLetters({ db, clock, closed: isClosed, wake: wakeGroup });

  const publishAll = createPublisher(db);

  // Retention: a bounded scan per round, from a cursor that wraps, so a long backlog at the head of
  // the table (an offline group) never makes cleanup slow.
  const scan = db
    .prepare<[number, number], [number, number]>(
      'SELECT seq, published_at FROM tidings_messages WHERE seq > ? ORDER BY seq LIMIT ?',
    )
    .raw();
  const removeSettled = db.prepare(
    `DELETE FROM tidings_messages WHERE seq IN (
       SELECT m.seq FROM tidings_messages m
       WHERE m.seq > ? AND m.seq <= ? AND m.published_at < ?
         AND NOT EXISTS (SELECT 1 FROM tidings_deliveries d WHERE d.seq = m.seq))`,
  );
  let cleanupCursor = 0;
  let lastCleanup = Number.NEGATIVE_INFINITY;
  const cleanup = db.transaction((now: number) => {
    const rows = scan.all(cleanupCursor, CLEANUP_SCAN_ROWS);
    const last = rows.at(-1);
    if (last === undefined) {
      cleanupCursor = 0;
      return;
    }
    const cutoff = now - resolved.retentionMs;
    removeSettled.run(cleanupCursor, last[0], cutoff);
    // Past the end, or into messages too young to go: start again from the head next time.
    cleanupCursor = rows.length < CLEANUP_SCAN_ROWS || last[1] >= cutoff ? 0 : last[0];
  });
  const housekeeping = (): void => {
    const now = clock.now();
    if (closed || now - lastCleanup < CLEANUP_EVERY_MS) return;
    lastCleanup = now;
    try {
      cleanup.immediate(now);
    } catch (error) {
      resolved.onError(error, { where: 'cleanup' });
    }
  };

  const ensureOpen = (what: string, open: boolean): void => {
    if (!open) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: the sqlite transport is closed. Create a new transport.`,
      );
    }
  };

  const transport: SqliteTransport = {
    name: 'sqlite',
    capabilities: SQLITE_CAPABILITIES,
    deadLetters: deadLetters.storage,
    database: db,

    publish: (channel, messages) =>
      promised(() => {
        ensureOpen('publish', !closed);
        checkPublish('sqliteTransport', channel, messages, SQLITE_MAX_MESSAGE_BYTES);
        if (messages.length === 0) return;
        publishAll(channel, messages, clock.now());
        for (const consumer of consumers) if (consumer.channel === channel) consumer.wake();
        housekeeping();
      }),

    consume: (consumeOptions, handler) =>
      promised(() => {
        ensureOpen('consume', accepting);
        checkConsumeOptions(consumeOptions, handler);
        const consumer = startConsumer(
          {
            db,
            options: resolved,
            writes,
            deadLetters,
            closed: isClosed,
            wakeGroup,
            housekeeping,
            forget: (done) => consumers.delete(done),
          },
          consumeOptions,
          handler,
        );
        consumers.add(consumer);
        return consumer;
      }),

    async doctor() {
      ensureOpen('run the doctor', !closed);
      return sqliteDoctor(db, deadLetters.storage);
    },

    close() {
      accepting = false;
      closing ??= (async () => {
        await Promise.all([...consumers].map((consumer) => consumer.close()));
        closed = true;
        writes.flush();
        if (owned) db.close();
      })();
      return closing;
    },
  };
  return transport;
}
