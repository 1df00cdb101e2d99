import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvent } from '../define-event.ts';
import {
  isTidingsError,
  NonRetryableError,
  permanent,
  SchemaInvalidError,
  TidingsError,
  type TidingsErrorCode,
} from '../errors.ts';
import { DEFAULT_RETRY, isRetryable, type RetryOptions, retry, retryProblems } from './retry.ts';
import { contextFor, type ContextOptions } from './test-context.ts';

const Pinged = defineEvent({ type: 'Pinged', schema: z.object({ n: z.number() }) });

/** A `next` that fails its first `failures` calls (forever by default), each with a new error. */
function flaky(
  failures = Number.POSITIVE_INFINITY,
  error = (call: number): Error => new Error(`try ${call}`),
) {
  const state = {
    calls: 0,
    next: (): Promise<void> => {
      state.calls += 1;
      return state.calls <= failures ? Promise.reject(error(state.calls)) : Promise.resolve();
    },
  };
  return state;
}

/** Starts the retry middleware on a fresh context; `done` settles when it returns. */
function start(options: RetryOptions, next: () => Promise<void>, context: ContextOptions = {}) {
  const test = contextFor(Pinged.create({ n: 1 }), { decoded: true, ...context });
  const done = retry(options)(test.ctx, next);
  return { ...test, done };
}

// `random: () => 0.5` puts every jittered wait at its exact nominal value.
const exact = { random: () => 0.5 } as const;

describe('retry', () => {
  it('calls next once and leaves the outcome alone when the handler succeeds', async () => {
    const handler = flaky(0);
    const { ctx, done, clock } = start(exact, handler.next);
    await done;
    expect(handler.calls).toBe(1);
    expect(ctx.outcome).toBeUndefined();
    expect(ctx.firstFailedAt).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('retries immediately after a doubling backoff, running nothing before each wait is over', async () => {
    const handler = flaky();
    const { ctx, done, clock } = start(
      { ...exact, immediate: 3, minDelayMs: 100, maxDelayMs: 1_000 },
      handler.next,
    );
    await clock.advance(0);
    expect(handler.calls).toBe(1);
    for (const [wait, callsAfter] of [
      [100, 2],
      [200, 3],
      [400, 4],
    ] as const) {
      await clock.advance(wait - 1);
      expect(handler.calls).toBe(callsAfter - 1);
      await clock.advance(1);
      expect(handler.calls).toBe(callsAfter);
    }
    await done;
    expect(handler.calls).toBe(4);
    expect(clock.pending).toBe(0);
    expect(ctx.outcome).toMatchObject({ kind: 'retry-later', delayMs: DEFAULT_RETRY.delays[0] });
  });

  it('never waits longer than maxDelayMs: with 250 the tries are 100, 200, 250 and 250 ms apart', async () => {
    const { ctx, clock } = contextFor(Pinged.create({ n: 1 }), { decoded: true });
    const started = clock.now();
    const triedAt: number[] = [];
    const done = retry({ ...exact, immediate: 4, minDelayMs: 100, maxDelayMs: 250 })(ctx, () => {
      triedAt.push(clock.now() - started);
      return Promise.reject(new Error('down'));
    });
    await clock.runAll();
    await done;
    expect(triedAt).toEqual([0, 100, 300, 550, 800]);
  });

  it('spreads each immediate wait by the jitter: 20 % jitter with the lowest random number waits 80 %', async () => {
    const handler = flaky(1);
    const { ctx, done, clock } = start({ random: () => 0, jitter: 0.2, minDelayMs: 100 }, handler.next);
    await clock.advance(79);
    expect(handler.calls).toBe(1);
    await clock.advance(1);
    expect(handler.calls).toBe(2);
    await done;
    expect(ctx.outcome).toBeUndefined();
  });

  it('waits the nominal backoff without jitter whatever the random source says', async () => {
    const handler = flaky(1);
    const { done, clock } = start({ random: () => 0.99, jitter: 0, minDelayMs: 100 }, handler.next);
    await clock.advance(99);
    expect(handler.calls).toBe(1);
    await clock.advance(1);
    expect(handler.calls).toBe(2);
    await done;
  });

  it('ends with no outcome when an immediate retry succeeds, remembering when the first failure was', async () => {
    const handler = flaky(2);
    const { ctx, done, clock } = start({ ...exact, minDelayMs: 100 }, handler.next);
    const failedAt = clock.now();
    await clock.runAll();
    await done;
    expect(handler.calls).toBe(3);
    expect(ctx.outcome).toBeUndefined();
    expect(ctx.firstFailedAt).toBe(failedAt);
    expect(clock.now()).toBe(failedAt + 300);
  });

  it('keeps a firstFailedAt that the context already had', async () => {
    const handler = flaky();
    const { ctx, clock } = contextFor(Pinged.create({ n: 1 }), { decoded: true });
    ctx.firstFailedAt = 5;
    const done = retry({ ...exact, immediate: 1 })(ctx, handler.next);
    await clock.runAll();
    await done;
    expect(ctx.firstFailedAt).toBe(5);
  });

  it.each([
    [1, { kind: 'retry-later', delayMs: 10_000 }],
    [2, { kind: 'retry-later', delayMs: 60_000 }],
    [3, { kind: 'dead-letter', reason: 'exhausted' }],
    [9, { kind: 'dead-letter', reason: 'exhausted' }],
  ] as const)(
    'on delivery attempt %i, once immediate retries are used up, ends with %o',
    async (attempt, expected) => {
      const handler = flaky();
      const { ctx, done, clock } = start(
        { ...exact, immediate: 1, minDelayMs: 100, delays: [10_000, 60_000] },
        handler.next,
        { attempt },
      );
      await clock.runAll();
      await done;
      expect(handler.calls).toBe(2);
      expect(ctx.outcome).toMatchObject(expected);
    },
  );

  it('reports the last error of the delivery in its outcome', async () => {
    const handler = flaky();
    const { ctx, done, clock } = start({ ...exact, immediate: 2 }, handler.next);
    await clock.runAll();
    await done;
    expect(ctx.outcome).toMatchObject({ kind: 'retry-later', error: { message: 'try 3' } });
  });

  it('goes to the delayed redelivery at once when immediate retries are 0', async () => {
    const handler = flaky();
    const { ctx, done, clock } = start({ ...exact, immediate: 0, delays: [5_000] }, handler.next);
    await done;
    expect(handler.calls).toBe(1);
    expect(clock.pending).toBe(0);
    expect(ctx.outcome).toMatchObject({ kind: 'retry-later', delayMs: 5_000, error: { message: 'try 1' } });
  });

  it('dead-letters as exhausted after the immediate retries when there are no delays', async () => {
    const handler = flaky();
    const { ctx, done, clock } = start({ ...exact, immediate: 2, delays: [] }, handler.next);
    await clock.runAll();
    await done;
    expect(handler.calls).toBe(3);
    expect(ctx.outcome).toMatchObject({
      kind: 'dead-letter',
      reason: 'exhausted',
      error: { message: 'try 3' },
    });
  });

  it('spreads the redelivery delay by the jitter too', async () => {
    const handler = flaky();
    const { ctx, done } = start(
      { random: () => 0, jitter: 0.5, immediate: 0, delays: [10_000] },
      handler.next,
    );
    await done;
    expect(ctx.outcome).toMatchObject({ kind: 'retry-later', delayMs: 5_000 });
  });

  it('uses the defaults: 3 immediate retries, then 30 s on the first delivery', async () => {
    const handler = flaky();
    const { ctx, done, clock } = start(exact, handler.next);
    const started = clock.now();
    await clock.runAll();
    await done;
    expect(handler.calls).toBe(4);
    expect(clock.now() - started).toBe(100 + 200 + 400);
    expect(ctx.outcome).toMatchObject({ kind: 'retry-later', delayMs: 30_000 });
  });

  it.each([
    ['a NonRetryableError', new NonRetryableError('no such customer')],
    ['permanent(error)', permanent(new Error('no such customer'))],
    ['a schema error', new SchemaInvalidError('Pinged', 1, [{ path: 'n', message: 'Expected number' }])],
    ['a malformed event', new TidingsError('TIDINGS_MALFORMED', 'bad envelope')],
    ['an unknown type', new TidingsError('TIDINGS_UNKNOWN_TYPE', 'unknown')],
    ['an unsupported version', new TidingsError('TIDINGS_VERSION_UNSUPPORTED', 'too new')],
  ])('dead-letters %s as non-retryable after one try', async (_name, error) => {
    const handler = flaky(Number.POSITIVE_INFINITY, () => error);
    const { ctx, done, clock } = start(exact, handler.next, { attempt: 1 });
    await done;
    expect(handler.calls).toBe(1);
    expect(clock.pending).toBe(0);
    expect(ctx.outcome).toEqual({ kind: 'dead-letter', reason: 'non-retryable', error });
    expect(ctx.firstFailedAt).toBe(clock.now());
  });

  it('keeps the original error as the cause of permanent(error)', async () => {
    const original = new Error('no such customer');
    const handler = flaky(Number.POSITIVE_INFINITY, () => permanent(original));
    const { ctx, done } = start(exact, handler.next);
    await done;
    const error = ctx.outcome?.kind === 'dead-letter' ? ctx.outcome.error : undefined;
    expect(isTidingsError(error, 'TIDINGS_NON_RETRYABLE')).toBe(true);
    expect((error as Error).cause).toBe(original);
  });

  it('retries a timeout like any other failure', async () => {
    const handler = flaky(1, () => new TidingsError('TIDINGS_TIMEOUT', 'too slow'));
    const { ctx, done, clock } = start(exact, handler.next);
    await clock.runAll();
    await done;
    expect(handler.calls).toBe(2);
    expect(ctx.outcome).toBeUndefined();
  });

  it('dead-letters an error at once as non-retryable when retryIf returns false for it', async () => {
    const seen: unknown[] = [];
    const handler = flaky(Number.POSITIVE_INFINITY, () => new RangeError('card declined'));
    const { ctx, done, clock } = start(
      {
        ...exact,
        retryIf: (error) => {
          seen.push(error);
          return !(error instanceof RangeError);
        },
      },
      handler.next,
    );
    await done;
    expect(handler.calls).toBe(1);
    expect(clock.pending).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(RangeError);
    expect(ctx.outcome).toMatchObject({ kind: 'dead-letter', reason: 'non-retryable', error: seen[0] });
  });

  it('retries errors for which retryIf returns true', async () => {
    const handler = flaky(2);
    const { ctx, done, clock } = start({ ...exact, retryIf: () => true }, handler.next);
    await clock.runAll();
    await done;
    expect(handler.calls).toBe(3);
    expect(ctx.outcome).toBeUndefined();
  });

  it('does not ask retryIf about errors that are never retryable', async () => {
    let asked = 0;
    const handler = flaky(Number.POSITIVE_INFINITY, () => new NonRetryableError('no'));
    const { ctx, done } = start(
      {
        ...exact,
        retryIf: () => {
          asked += 1;
          return true;
        },
      },
      handler.next,
    );
    await done;
    expect(asked).toBe(0);
    expect(ctx.outcome).toMatchObject({ kind: 'dead-letter', reason: 'non-retryable' });
  });

  it('gives the message back at once (retry-later, delay 0) when the consumer starts closing during a backoff wait', async () => {
    const handler = flaky();
    const { ctx, done, clock, closing } = start({ ...exact, minDelayMs: 1_000 }, handler.next);
    await clock.advance(400);
    expect(clock.pending).toBe(1);
    closing.abort(new TidingsError('TIDINGS_CLOSED', 'closing'));
    await done;
    expect(handler.calls).toBe(1);
    expect(clock.pending).toBe(0);
    expect(ctx.outcome).toMatchObject({ kind: 'retry-later', delayMs: 0, error: { message: 'try 1' } });
    await clock.advance(10_000);
    expect(handler.calls).toBe(1);
  });

  it.each([1, 2])(
    'gives the message back at once (retry-later, delay 0) without immediate retries when the consumer was already closing as the handler failed (attempt %i)',
    async (attempt) => {
      const handler = flaky();
      const { ctx, clock, closing } = contextFor(Pinged.create({ n: 1 }), { decoded: true, attempt });
      closing.abort();
      // Attempt 2 is past the single delay: it must not be dead-lettered as exhausted after one try.
      await retry({ ...exact, immediate: 3, delays: [10_000] })(ctx, handler.next);
      expect(handler.calls).toBe(1);
      expect(clock.pending).toBe(0);
      expect(ctx.outcome).toMatchObject({ kind: 'retry-later', delayMs: 0, error: { message: 'try 1' } });
    },
  );

  it('follows the delays as usual for a closing consumer when there are no immediate retries', async () => {
    const handler = flaky();
    const { ctx, closing } = contextFor(Pinged.create({ n: 1 }), { decoded: true, attempt: 1 });
    closing.abort();
    await retry({ ...exact, immediate: 0, delays: [10_000] })(ctx, handler.next);
    expect(ctx.outcome).toMatchObject({ kind: 'retry-later', delayMs: 10_000 });
  });

  it('lists every problem with its options in one TIDINGS_INVALID_OPTIONS error', () => {
    let thrown: unknown;
    try {
      retry({ immediate: -1, jitter: 2 });
    } catch (error) {
      thrown = error;
    }
    expect(isTidingsError(thrown, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    const error = thrown as TidingsError;
    expect(error.message).toMatch(/immediate/);
    expect(error.message).toMatch(/jitter/);
    expect(error.details?.problems).toHaveLength(2);
  });

  it.each<[string, RetryOptions, RegExp]>([
    ['a fractional immediate', { immediate: 1.5 }, /immediate/],
    ['a negative minDelayMs', { minDelayMs: -1 }, /minDelayMs/],
    ['a non-number maxDelayMs', { maxDelayMs: '100' as unknown as number }, /maxDelayMs/],
    ['a negative delay', { delays: [1_000, -1] }, /delays/],
    ['an infinite delay', { delays: [Number.POSITIVE_INFINITY] }, /delays/],
    ['a jitter of 1', { jitter: 1 }, /jitter/],
    ['a negative jitter', { jitter: -0.1 }, /jitter/],
    ['a NaN jitter', { jitter: Number.NaN }, /jitter/],
  ])('refuses %s', (_name, options, names) => {
    expect(retryProblems(options)).toEqual([expect.stringMatching(names)]);
    expect(() => retry(options)).toThrow(names);
  });

  it('accepts the boundaries: no immediate retries, zero waits, no delays, no jitter', () => {
    expect(retryProblems({ immediate: 0, minDelayMs: 0, maxDelayMs: 0, delays: [], jitter: 0 })).toEqual([]);
  });

  it.each<[TidingsErrorCode | 'plain', boolean]>([
    ['plain', true],
    ['TIDINGS_TIMEOUT', true],
    ['TIDINGS_UNAVAILABLE', true],
    ['TIDINGS_NON_RETRYABLE', false],
    ['TIDINGS_MALFORMED', false],
    ['TIDINGS_UNKNOWN_TYPE', false],
    ['TIDINGS_SCHEMA_INVALID', false],
    ['TIDINGS_VERSION_UNSUPPORTED', false],
  ])('isRetryable says %s is retryable: %s', (code, expected) => {
    const error = code === 'plain' ? new Error('x') : new TidingsError(code, 'x');
    expect(isRetryable(error)).toBe(expected);
  });
});
