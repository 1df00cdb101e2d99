/**
 * The outage case every broker adapter runs twice: once with its connection cut by a TCP proxy, once
 * with the broker process stopped and started again. Messages are published one at a time while a
 * consumer acks them; the broker goes away in the middle; publishes made while it is away must fail
 * fast with a typed error; once it is back, publishing and consuming resume without help, and every
 * publish that was confirmed is delivered and acked.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { isTidingsError } from '../errors.ts';
import type { Transport, TransportMessage } from '../transport.ts';
import { createLedger, type LedgerReport } from './ledger.ts';
import { eventually } from './transport-cases/harness.ts';

/** Options of {@link runOutageCase}. */
export interface OutageCaseOptions {
  /** A fresh transport, connected to the broker that `interrupt` takes away; the case closes it. */
  readonly transport: Transport;
  /** Takes the broker away: cut the proxy, stop the server. */
  interrupt(): void | Promise<void>;
  /** Brings it back. */
  resume(): void | Promise<void>;
  /** Messages to get confirmed in all (default 300); a third before the outage. */
  readonly messages?: number;
  /** Publishes that must fail while the broker is away before it comes back (default 3). */
  readonly failuresBeforeResume?: number;
  /** A publish while the broker is away must fail within this many real ms (default 5 000). */
  readonly failFastMs?: number;
  /** Real ms to wait for publishing to work again, and again for every delivery (default 60 000). */
  readonly recoveryMs?: number;
  /** Called with progress lines, for a test that wants to print them. */
  readonly log?: (line: string) => void;
}

/** What the case saw. */
export interface OutageReport extends LedgerReport {
  /** Publishes that failed while the broker was away or coming back. */
  readonly failedPublishes: number;
  /** The slowest failure of a publish while the broker was away, in ms. */
  readonly slowestFailureMs: number;
  /** Real ms from `resume()` to the first confirmed publish. */
  readonly recoveredAfterMs: number;
}

const TOPIC = 'ParcelScanned';

function message(index: number): TransportMessage {
  const id = randomUUID();
  return {
    id,
    topic: TOPIC,
    key: `parcel-${index % 7}`,
    headers: { 'content-type': 'application/json', 'ce-id': id, 'ce-type': TOPIC },
    body: new TextEncoder().encode(JSON.stringify({ index })),
  };
}

async function pause(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs the outage case and throws an `AssertionError` naming every broken promise; resolves with what
 * it saw otherwise.
 *
 * @example
 * const proxy = await startTcpProxy({ port: 6379 });
 * await runOutageCase({
 *   transport: redisTransport({ url: `redis://127.0.0.1:${proxy.port}` }),
 *   interrupt: () => proxy.cut(),
 *   resume: () => proxy.restore(),
 * });
 */
export async function runOutageCase(options: OutageCaseOptions): Promise<OutageReport> {
  const total = options.messages ?? 300;
  const failuresBeforeResume = options.failuresBeforeResume ?? 3;
  const failFastMs = options.failFastMs ?? 5_000;
  const recoveryMs = options.recoveryMs ?? 60_000;
  const log = options.log ?? (() => undefined);
  const ledger = createLedger(options.transport);
  const transport = ledger.transport;
  const channel = `outage-${randomUUID().slice(0, 8)}`;
  const received = new Set<string>();
  const confirmed = new Set<string>();
  let failedPublishes = 0;
  let slowestFailureMs = 0;
  let index = 0;

  const publishOne = async (): Promise<{ ok: true } | { ok: false; error: unknown; ms: number }> => {
    const next = message(index++);
    const started = Date.now();
    try {
      await transport.publish(channel, [next]);
      confirmed.add(next.id);
      return { ok: true };
    } catch (error) {
      failedPublishes += 1;
      return { ok: false, error, ms: Date.now() - started };
    }
  };

  const consumer = await transport.consume(
    { channel, group: 'outage', topics: [TOPIC], concurrency: 8, ordered: false, leaseMs: 5_000 },
    async (delivery) => {
      received.add(delivery.message.id);
      // An ack lost with the connection is redelivered later; that is the promise being tested.
      await delivery.ack().catch(() => undefined);
    },
  );
  try {
    // Before: every publish works.
    while (confirmed.size < Math.floor(total / 3)) {
      const result = await publishOne();
      if (!result.ok) throw result.error;
    }
    log(`${confirmed.size} confirmed before the outage`);

    await options.interrupt();
    let failures = 0;
    for (let tries = 0; failures < failuresBeforeResume; tries += 1) {
      assert.ok(
        tries < failuresBeforeResume + 20,
        `${tries} publishes were confirmed while the broker was away; the outage did not take`,
      );
      const pending = publishOne();
      const timer = pause(failFastMs + 1_000).then(() => 'hung' as const);
      const result = await Promise.race([pending, timer]);
      assert.notEqual(
        result,
        'hung',
        `a publish while the broker was away neither failed nor succeeded within ${failFastMs + 1_000} ms; ` +
          'publishers must fail fast with a typed error instead of queueing',
      );
      if (result === 'hung' || result.ok) continue;
      failures += 1;
      slowestFailureMs = Math.max(slowestFailureMs, result.ms);
      assert.ok(
        isTidingsError(result.error, 'TIDINGS_UNAVAILABLE'),
        `a publish while the broker was away failed with ${String(result.error)}; expected a TidingsError ` +
          'with code TIDINGS_UNAVAILABLE',
      );
      assert.ok(
        result.ms <= failFastMs,
        `a publish while the broker was away took ${result.ms} ms to fail (at most ${failFastMs})`,
      );
    }
    log(`${failures} publishes failed fast during the outage (slowest ${slowestFailureMs} ms)`);

    await options.resume();
    const resumedAt = Date.now();
    let recoveredAfterMs = -1;
    while (confirmed.size < total) {
      const result = await publishOne();
      if (result.ok) {
        if (recoveredAfterMs < 0) recoveredAfterMs = Date.now() - resumedAt;
        continue;
      }
      assert.ok(
        Date.now() - resumedAt < recoveryMs,
        `publishing still failed ${recoveryMs} ms after the broker came back: ${String(result.error)}`,
      );
      await pause(50);
    }
    log(`publishing recovered after ${recoveredAfterMs} ms; ${confirmed.size} confirmed in all`);

    await eventually(() => [...confirmed].every((id) => received.has(id)), {
      timeoutMs: recoveryMs,
      what: () =>
        `every confirmed publish to be delivered after the outage (${[...confirmed].filter((id) => received.has(id)).length} of ${confirmed.size})`,
    });
    await consumer.close({ timeoutMs: 5_000 });
    const report = ledger.assertConsistent({ ...options.transport.capabilities, duplicates: 'possible' });
    return { ...report, failedPublishes, slowestFailureMs, recoveredAfterMs };
  } finally {
    await consumer.close({ timeoutMs: 1_000 }).catch(() => undefined);
    await options.transport.close().catch(() => undefined);
  }
}
