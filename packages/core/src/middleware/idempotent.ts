import type { Event } from '../envelope.ts';
import { invalidOptions } from '../errors.ts';
import { type InboxStore, memoryInbox } from '../inbox.ts';
import type { Middleware } from './types.ts';

/** Options of {@link idempotent}. */
export interface IdempotentOptions {
  /** Where processed keys are kept (default: in memory). */
  store?: InboxStore;
  /** The deduplication key: `source` + `id` by default; return a business key to merge distinct events. */
  key?: (event: Event) => string;
  /** How long a processed key is remembered (default 7 days). */
  retentionMs?: number;
}

const SEVEN_DAYS = 7 * 24 * 60 * 60 * 1000;

/**
 * Runs the handler at most once per key and group: a redelivered or republished event whose key the
 * inbox already holds is acked without running the handler again. Duplicates handled at the same time
 * in one process wait for each other; across processes, use a shared inbox and keep the handler's
 * effects idempotent too, since two processes can still race between the check and the record.
 *
 * @example
 * await bus.subscribe({ group: 'billing', handlers, middleware: [idempotent({ store: sqliteInbox({ file: 'shop.db' }) })] });
 */
export function idempotent(options: IdempotentOptions = {}): Middleware {
  const {
    store = memoryInbox(),
    key = (event: Event) => `${event.source}|${event.id}`,
    retentionMs = SEVEN_DAYS,
  } = options;
  if (!Number.isFinite(retentionMs) || retentionMs <= 0) {
    throw invalidOptions('idempotent', [
      `retentionMs must be a positive number of milliseconds; got ${String(retentionMs)}`,
    ]);
  }
  // Keys being handled in this process: a duplicate that arrives meanwhile waits for the first run and
  // then asks the inbox again, instead of running beside it.
  const running = new Map<string, Promise<void>>();
  return async function idempotent(ctx, next) {
    const event = ctx.event;
    if (event === undefined) return next();
    const inboxKey = `${ctx.group}|${key(event)}`;
    for (let earlier = running.get(inboxKey); earlier !== undefined; earlier = running.get(inboxKey)) {
      await earlier;
    }
    let finished: () => void = () => undefined;
    running.set(
      inboxKey,
      new Promise<void>((resolve) => {
        finished = resolve;
      }),
    );
    try {
      if (await store.has(inboxKey, ctx.clock.now())) {
        ctx.outcome = { kind: 'duplicate' };
        return;
      }
      await next();
      if (ctx.outcome === undefined) await store.add(inboxKey, ctx.clock.now() + retentionMs);
    } finally {
      running.delete(inboxKey);
      finished();
    }
  };
}
