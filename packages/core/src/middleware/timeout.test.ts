import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { defineEvent } from '../define-event.ts';
import { isTidingsError, TidingsError } from '../errors.ts';
import { contextFor, type ContextOptions } from './test-context.ts';
import { LazyRunSignal, timeout } from './timeout.ts';
import type { MiddlewareContext } from './types.ts';

const Pinged = defineEvent({ type: 'Pinged', schema: z.object({ n: z.number() }) });

/** A handler that runs until its signal aborts, then rejects with the abort reason. */
function untilAborted(ctx: MiddlewareContext) {
  const state = { signal: undefined as AbortSignal | undefined };
  const next = (): Promise<void> =>
    new Promise<void>((_, reject) => {
      const signal = ctx.signal;
      state.signal = signal;
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  return { state, next };
}

/** A handler that never finishes and ignores its signal. */
const never = (): Promise<void> => new Promise<void>(() => undefined);

/** Tracks whether a promise has settled, and how. */
function track(promise: Promise<void>) {
  const state: { settled: boolean; error: unknown } = { settled: false, error: undefined };
  promise.then(
    () => {
      state.settled = true;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

const setup = (options: ContextOptions = {}) =>
  contextFor(Pinged.create({ n: 1 }), { decoded: true, handlerName: 'mailer', ...options });

describe('timeout', () => {
  it('lets a handler that finishes in time pass, and cancels its timer', async () => {
    const { ctx, clock } = setup();
    const before = clock.pending;
    let pendingDuringRun = -1;
    await timeout(1_000)(ctx, () => {
      pendingDuringRun = clock.pending;
      return Promise.resolve();
    });
    expect(pendingDuringRun).toBe(before + 1);
    expect(clock.pending).toBe(before);
    expect(ctx.outcome).toBeUndefined();
  });

  it('cancels the timer when the handler fails, and rejects with its error', async () => {
    const { ctx, clock } = setup();
    const failure = new Error('handler failed');
    await expect(timeout(1_000)(ctx, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(clock.pending).toBe(0);
  });

  it('lets a handler that finishes after some clock time but before the limit pass', async () => {
    const { ctx, clock } = setup();
    const run = track(timeout(1_000)(ctx, () => ctx.clock.sleep(999)));
    await clock.advance(999);
    expect(run).toEqual({ settled: true, error: undefined });
    await clock.advance(10_000);
    expect(clock.pending).toBe(0);
  });

  it('aborts a slow handler after exactly ms of clock time, with TIDINGS_TIMEOUT on its signal and as the rejection', async () => {
    const { ctx, clock } = setup();
    const handler = untilAborted(ctx);
    const run = track(timeout(1_000)(ctx, handler.next));
    await clock.advance(999);
    expect(run.settled).toBe(false);
    expect(handler.state.signal?.aborted).toBe(false);
    await clock.advance(1);
    expect(handler.state.signal?.aborted).toBe(true);
    const reason: unknown = handler.state.signal?.reason;
    expect(isTidingsError(reason, 'TIDINGS_TIMEOUT')).toBe(true);
    expect((reason as Error).message).toMatch(/mailer did not finish within 1000 ms/);
    expect(run.settled).toBe(true);
    expect(run.error).toBe(reason);
  });

  it('rejects at the limit even when the handler ignores its signal and never returns', async () => {
    const { ctx, clock } = setup();
    const run = track(timeout(50)(ctx, never));
    await clock.advance(49);
    expect(run.settled).toBe(false);
    await clock.advance(1);
    expect(run.settled).toBe(true);
    expect(isTidingsError(run.error, 'TIDINGS_TIMEOUT')).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('gives the handler its own signal and puts the outer one back afterwards', async () => {
    const { ctx, stop } = setup();
    let inner: AbortSignal | undefined;
    await timeout(1_000)(ctx, () => {
      inner = ctx.signal;
      return Promise.resolve();
    });
    expect(inner).toBeDefined();
    expect(inner).not.toBe(stop.signal);
    expect(ctx.signal).toBe(stop.signal);
  });

  it('puts the outer signal back after a timeout too', async () => {
    const { ctx, clock, stop } = setup();
    const run = track(timeout(10)(ctx, never));
    await clock.advance(10);
    expect(run.settled).toBe(true);
    expect(ctx.signal).toBe(stop.signal);
    expect(stop.signal.aborted).toBe(false);
  });

  it('aborts the handler signal with the outer reason when the outer signal aborts', async () => {
    const { ctx, clock, stop } = setup();
    const handler = untilAborted(ctx);
    const run = track(timeout(1_000)(ctx, handler.next));
    await clock.advance(100);
    const reason = new TidingsError('TIDINGS_CLOSED', 'shutting down');
    stop.abort(reason);
    await clock.advance(0);
    expect(handler.state.signal?.reason).toBe(reason);
    expect(run).toEqual({ settled: true, error: reason });
    expect(clock.pending).toBe(0);
  });

  it('stops listening to the outer signal once the run is over', async () => {
    const { ctx, stop } = setup();
    let inner: AbortSignal | undefined;
    await timeout(1_000)(ctx, () => {
      inner = ctx.signal;
      return Promise.resolve();
    });
    stop.abort(new Error('later'));
    expect(inner?.aborted).toBe(false);
  });

  it('hands the handler an aborted signal when the outer signal was already aborted', async () => {
    const { ctx, stop } = setup();
    const reason = new TidingsError('TIDINGS_CLOSED', 'deadline passed');
    stop.abort(reason);
    let inner: AbortSignal | undefined;
    await timeout(1_000)(ctx, () => {
      inner = ctx.signal;
      return Promise.resolve();
    });
    expect(inner?.aborted).toBe(true);
    expect(inner?.reason).toBe(reason);
  });

  it('uses the clock timer where the clock has one, and cancels it after a fast run', async () => {
    const { ctx, clock } = setup();
    const timers: { ms: number; cancelled: boolean }[] = [];
    const withTimer: Clock = {
      now: () => clock.now(),
      sleep: (ms, signal) => clock.sleep(ms, signal),
      timer(ms) {
        const entry = { ms, cancelled: false };
        timers.push(entry);
        return () => {
          entry.cancelled = true;
        };
      },
    };
    const ctxWithTimer: MiddlewareContext = { ...ctx, clock: withTimer };
    await timeout(250)(ctxWithTimer, () => Promise.resolve());
    expect(timers).toEqual([{ ms: 250, cancelled: true }]);
    expect(clock.pending).toBe(0);
  });

  it('fires through the clock timer where the clock has one', async () => {
    const { ctx } = setup();
    let fire: (() => void) | undefined;
    const withTimer: MiddlewareContext = {
      ...ctx,
      clock: {
        now: () => 0,
        sleep: () => Promise.reject(new Error('sleep should not be used')),
        timer(_ms, fn) {
          fire = fn;
          return () => undefined;
        },
      },
    };
    const run = track(timeout(250)(withTimer, never));
    await Promise.resolve();
    expect(run.settled).toBe(false);
    fire?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(run.settled).toBe(true);
    expect(isTidingsError(run.error, 'TIDINGS_TIMEOUT')).toBe(true);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses timeout(%s) with TIDINGS_INVALID_OPTIONS',
    (ms) => {
      expect(() => timeout(ms)).toThrow(expect.objectContaining({ code: 'TIDINGS_INVALID_OPTIONS' }));
    },
  );
});

describe('LazyRunSignal (the handler signal of the bus, made on first read)', () => {
  const reason = new TidingsError('TIDINGS_TIMEOUT', 'too slow');

  it('is tied to the outer signal while the run lasts', () => {
    const outer = new AbortController();
    const run = new LazyRunSignal(outer.signal);
    const signal = run.signal;
    expect(run.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    outer.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it('is made aborted when read after its run was aborted or the outer signal was', () => {
    const timedOut = new LazyRunSignal(new AbortController().signal);
    timedOut.abort(reason);
    expect(timedOut.signal.reason).toBe(reason);
    const outer = new AbortController();
    outer.abort(reason);
    expect(new LazyRunSignal(outer.signal).signal.aborted).toBe(true);
  });

  it('is no longer tied to the outer signal once the run finished', () => {
    const outer = new AbortController();
    const readDuring = new LazyRunSignal(outer.signal);
    const signal = readDuring.signal;
    readDuring.finish();
    const readAfter = new LazyRunSignal(outer.signal);
    readAfter.finish();
    outer.abort(reason);
    expect(signal.aborted).toBe(false);
    expect(readAfter.signal.aborted).toBe(false);
    readAfter.abort(reason);
    expect(readAfter.signal.aborted).toBe(false);
  });

  it('remembers an outer abort that came before the run finished, even when read later', () => {
    const outer = new AbortController();
    const run = new LazyRunSignal(outer.signal);
    outer.abort(reason);
    run.finish();
    expect(run.signal.aborted).toBe(true);
  });
});
