import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvent } from '../define-event.ts';
import type { Event } from '../envelope.ts';
import { isTidingsError } from '../errors.ts';
import { type InboxStore, memoryInbox } from '../inbox.ts';
import { createManualClock, type ManualClock } from '../testing/manual-clock.ts';
import { type IdempotentOptions, idempotent } from './idempotent.ts';
import { contextFor } from './test-context.ts';
import type { Middleware, MiddlewareContext } from './types.ts';

const PaymentCaptured = defineEvent({
  type: 'PaymentCaptured',
  schema: z.object({ orderId: z.string(), amount: z.number() }),
});

const captured = (orderId = 'o-1', init: { id?: string; source?: string } = {}) =>
  PaymentCaptured.create({ orderId, amount: 10 }, init);

/** Runs the middleware on one delivery of `event`; `handled` counts the calls of next. */
function deliverer(middleware: Middleware, clock: ManualClock = createManualClock()) {
  const state = { handled: 0 };
  const deliver = async (
    event: Event,
    options: { group?: string; next?: (ctx: MiddlewareContext) => Promise<void> } = {},
  ): Promise<MiddlewareContext> => {
    const { ctx } = contextFor(event, { decoded: true, clock, group: options.group ?? 'billing' });
    await middleware(ctx, () => {
      state.handled += 1;
      return options.next?.(ctx) ?? Promise.resolve();
    });
    return ctx;
  };
  return { state, deliver, clock };
}

describe('idempotent', () => {
  it('makes a duplicate that arrives while the first run is in progress wait, then skip', async () => {
    const { state, deliver } = deliverer(idempotent());
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const event = captured();
    const first = deliver(event, { next: () => slow });
    const second = deliver(event);
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.handled).toBe(1);
    release();
    const [firstCtx, secondCtx] = await Promise.all([first, second]);
    expect(state.handled).toBe(1);
    expect(firstCtx.outcome).toBeUndefined();
    expect(secondCtx.outcome).toEqual({ kind: 'duplicate' });
  });

  it('lets a waiting duplicate run when the first run failed', async () => {
    const { state, deliver } = deliverer(idempotent());
    let fail: (error: Error) => void = () => undefined;
    const failing = new Promise<void>((_, reject) => {
      fail = reject;
    });
    const event = captured();
    const first = deliver(event, { next: () => failing });
    const second = deliver(event);
    await new Promise((resolve) => setImmediate(resolve));
    fail(new Error('card declined'));
    await expect(first).rejects.toThrow('card declined');
    expect((await second).outcome).toBeUndefined();
    expect(state.handled).toBe(2);
  });

  it('runs the first delivery of an event and acks it (no outcome)', async () => {
    const { state, deliver } = deliverer(idempotent());
    const ctx = await deliver(captured());
    expect(state.handled).toBe(1);
    expect(ctx.outcome).toBeUndefined();
  });

  it('marks a second delivery of the same source and id as a duplicate without calling next', async () => {
    const { state, deliver } = deliverer(idempotent());
    const event = captured();
    await deliver(event);
    const again = await deliver(event);
    expect(state.handled).toBe(1);
    expect(again.outcome).toEqual({ kind: 'duplicate' });
  });

  it('treats the same id from another source as a different event', async () => {
    const { state, deliver } = deliverer(idempotent());
    await deliver(captured('o-1', { id: 'evt-1', source: 'urn:payments' }));
    const other = await deliver(captured('o-1', { id: 'evt-1', source: 'urn:refunds' }));
    expect(state.handled).toBe(2);
    expect(other.outcome).toBeUndefined();
  });

  it('runs distinct events with the same data each once', async () => {
    const { state, deliver } = deliverer(idempotent());
    await deliver(captured('o-1'));
    await deliver(captured('o-1'));
    expect(state.handled).toBe(2);
  });

  it('keeps keys per group: another group still handles an event this group has handled', async () => {
    const { state, deliver } = deliverer(idempotent());
    const event = captured();
    await deliver(event, { group: 'billing' });
    const shipping = await deliver(event, { group: 'shipping' });
    const billingAgain = await deliver(event, { group: 'billing' });
    expect(state.handled).toBe(2);
    expect(shipping.outcome).toBeUndefined();
    expect(billingAgain.outcome).toEqual({ kind: 'duplicate' });
  });

  it('merges distinct events that share a custom business key', async () => {
    const { state, deliver } = deliverer(
      idempotent({ key: (event) => (event.data as { orderId: string }).orderId }),
    );
    await deliver(captured('o-1'));
    const second = await deliver(captured('o-1'));
    const otherOrder = await deliver(captured('o-2'));
    expect(state.handled).toBe(2);
    expect(second.outcome).toEqual({ kind: 'duplicate' });
    expect(otherOrder.outcome).toBeUndefined();
  });

  it('does not record a run whose next throws, so the retry runs the handler again', async () => {
    const { state, deliver } = deliverer(idempotent());
    const event = captured();
    const failure = new Error('database down');
    await expect(deliver(event, { next: () => Promise.reject(failure) })).rejects.toBe(failure);
    const retried = await deliver(event);
    expect(state.handled).toBe(2);
    expect(retried.outcome).toBeUndefined();
    const third = await deliver(event);
    expect(third.outcome).toEqual({ kind: 'duplicate' });
  });

  it('does not record a run that ended with an outcome (retry-later), so the redelivery runs again', async () => {
    const { state, deliver } = deliverer(idempotent());
    const event = captured();
    await deliver(event, {
      next: (ctx) => {
        ctx.outcome = { kind: 'retry-later', delayMs: 1_000, error: new Error('busy') };
        return Promise.resolve();
      },
    });
    const redelivered = await deliver(event);
    expect(state.handled).toBe(2);
    expect(redelivered.outcome).toBeUndefined();
  });

  it('forgets a key once retentionMs of context-clock time has passed', async () => {
    const { state, deliver, clock } = deliverer(idempotent({ retentionMs: 60_000 }));
    const event = captured();
    await deliver(event);
    await clock.advance(59_999);
    expect((await deliver(event)).outcome).toEqual({ kind: 'duplicate' });
    expect(state.handled).toBe(1);
    await clock.advance(1);
    const expired = await deliver(event);
    expect(expired.outcome).toBeUndefined();
    expect(state.handled).toBe(2);
  });

  it('remembers a key for seven days by default', async () => {
    const { state, deliver, clock } = deliverer(idempotent());
    const event = captured();
    await deliver(event);
    await clock.advance(7 * 24 * 60 * 60 * 1000 - 1);
    await deliver(event);
    expect(state.handled).toBe(1);
    await clock.advance(1);
    await deliver(event);
    expect(state.handled).toBe(2);
  });

  it('keeps keys in the store it is given, prefixed with the group', async () => {
    const seen: { key: string; expiresAt: number }[] = [];
    const inner = memoryInbox();
    const store: InboxStore = {
      has: (key, now) => inner.has(key, now),
      add: (key, expiresAt) => {
        seen.push({ key, expiresAt });
        return inner.add(key, expiresAt);
      },
    };
    const { deliver, clock } = deliverer(idempotent({ store, retentionMs: 1_000 }));
    const event = captured('o-1', { id: 'evt-9', source: 'urn:payments' });
    await deliver(event, { group: 'billing' });
    expect(seen).toEqual([{ key: 'billing|urn:payments|evt-9', expiresAt: clock.now() + 1_000 }]);
    expect(inner.size).toBe(1);
  });

  it('calls next without looking anything up when the context has no event', async () => {
    const lookups: string[] = [];
    const store: InboxStore = {
      has: (key) => {
        lookups.push(key);
        return Promise.resolve(true);
      },
      add: (key) => {
        lookups.push(key);
        return Promise.resolve();
      },
    };
    const { ctx } = contextFor(captured());
    let handled = 0;
    await idempotent({ store })(ctx, () => {
      handled += 1;
      return Promise.resolve();
    });
    expect(handled).toBe(1);
    expect(lookups).toEqual([]);
    expect(ctx.outcome).toBeUndefined();
  });

  it.each<[string, IdempotentOptions]>([
    ['zero', { retentionMs: 0 }],
    ['negative', { retentionMs: -1 }],
    ['NaN', { retentionMs: Number.NaN }],
    ['infinite', { retentionMs: Number.POSITIVE_INFINITY }],
  ])('refuses a %s retentionMs with TIDINGS_INVALID_OPTIONS', (_name, options) => {
    let thrown: unknown;
    try {
      idempotent(options);
    } catch (error) {
      thrown = error;
    }
    expect(isTidingsError(thrown, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    expect((thrown as Error).message).toMatch(/retentionMs/);
  });
});
