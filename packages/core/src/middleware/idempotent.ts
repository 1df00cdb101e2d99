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
 * inbox already holds is acked without running the handler again.
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
  return async function idempotent(ctx, next) {
    const event = ctx.event;
    if (event === undefined) return next();
    const inboxKey = `${ctx.group}|${key(event)}`;
    if (await store.has(inboxKey, ctx.clock.now())) {
      ctx.outcome = { kind: 'duplicate' };
      return;
    }
    await next();
    if (ctx.outcome === undefined) await store.add(inboxKey, ctx.clock.now() + retentionMs);
  };
}
