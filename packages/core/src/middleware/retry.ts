import { describe } from '../envelope.ts';
import { invalidOptions, isTidingsError } from '../errors.ts';
import type { Middleware, MiddlewareContext, Outcome } from './types.ts';

/** Options of {@link retry}; every field has a default. */
export interface RetryOptions {
  /** Immediate retries within one delivery after the first failure (default 3). */
  immediate?: number;
  /** Backoff before the first immediate retry (default 100 ms); it doubles up to `maxDelayMs`. */
  minDelayMs?: number;
  /** The longest immediate backoff (default 1 s). */
  maxDelayMs?: number;
  /** Delayed redeliveries through the transport once immediate retries are used up (default 30 s, 5 min, 30 min). */
  delays?: readonly number[];
  /** Spread of every wait, as a fraction: 0.2 waits between 80 % and 120 % (default 0.2). */
  jitter?: number;
  /** Return false to dead-letter an error at once. */
  retryIf?: (error: unknown) => boolean;
  /** The random source of the jitter (tests pass a fixed one). */
  random?: () => number;
}

/** The defaults of {@link retry}. */
export const DEFAULT_RETRY: Readonly<Required<Omit<RetryOptions, 'retryIf' | 'random'>>> = Object.freeze({
  immediate: 3,
  minDelayMs: 100,
  maxDelayMs: 1_000,
  delays: Object.freeze([30_000, 300_000, 1_800_000]),
  jitter: 0.2,
});

const NON_RETRYABLE = new Set([
  'TIDINGS_NON_RETRYABLE',
  'TIDINGS_MALFORMED',
  'TIDINGS_UNKNOWN_TYPE',
  'TIDINGS_SCHEMA_INVALID',
  'TIDINGS_VERSION_UNSUPPORTED',
]);

/** True for errors that no retry can fix: `NonRetryableError`, `permanent(…)`, invalid events. */
export function isRetryable(error: unknown): boolean {
  return !(isTidingsError(error) && NON_RETRYABLE.has(error.code));
}

/** Checks retry options, listing every problem at once. @internal */
export function retryProblems(options: RetryOptions): string[] {
  const problems: string[] = [];
  const whole = (name: string, value: unknown): void => {
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
      problems.push(`${name} must be a whole number of 0 or more; got ${describe(value)}`);
    }
  };
  whole('immediate', options.immediate);
  whole('minDelayMs', options.minDelayMs);
  whole('maxDelayMs', options.maxDelayMs);
  if (
    options.delays !== undefined &&
    (!Array.isArray(options.delays) || options.delays.some((d) => !Number.isFinite(d) || d < 0))
  ) {
    problems.push('delays must be a list of millisecond waits of 0 or more, e.g. [30_000, 300_000]');
  }
  if (options.jitter !== undefined && !(options.jitter >= 0 && options.jitter < 1)) {
    problems.push(`jitter must be at least 0 and below 1; got ${String(options.jitter)}`);
  }
  return problems;
}

/**
 * Retries a failing handler: immediately with exponential backoff and jitter, then by delayed
 * redelivery through the transport, then dead-letters it. A non-retryable error skips the rest.
 *
 * @example
 * await bus.subscribe({ group: 'billing', handlers, retry: { immediate: 2, delays: [10_000, 60_000] } });
 */
export function retry(options: RetryOptions = {}): Middleware {
  const afterFailure = retryAfterFailure(options);
  return async function retry(ctx, next) {
    try {
      await next();
    } catch (failure) {
      await afterFailure(ctx, next, failure);
    }
  };
}

/**
 * What {@link retry} does once the first run has failed with `failure`: it waits and runs `next` again
 * while the policy allows, then leaves the outcome (retry later or dead-letter) on the context. The
 * bus's built-in pipeline calls it only when a run fails, so a run that succeeds costs no promise here.
 * @internal
 */
export function retryAfterFailure(
  options: RetryOptions = {},
): (ctx: MiddlewareContext, next: () => Promise<void>, failure: unknown) => Promise<void> {
  const problems = retryProblems(options);
  if (problems.length > 0) throw invalidOptions('retry', problems);
  const immediate = options.immediate ?? DEFAULT_RETRY.immediate;
  const minDelayMs = options.minDelayMs ?? DEFAULT_RETRY.minDelayMs;
  const maxDelayMs = Math.max(minDelayMs, options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs);
  const delays = options.delays ?? DEFAULT_RETRY.delays;
  const jitter = options.jitter ?? DEFAULT_RETRY.jitter;
  const random = options.random ?? Math.random;
  const retryIf = options.retryIf ?? (() => true);
  const spread = (ms: number): number => Math.round(ms * (1 - jitter + 2 * jitter * random()));

  return async function afterFailure(ctx, next, firstFailure) {
    let failure = firstFailure;
    for (let retries = 0; ; retries += 1) {
      ctx.firstFailedAt ??= ctx.clock.now();
      if (!isRetryable(failure) || !retryIf(failure)) {
        ctx.outcome = { kind: 'dead-letter', reason: 'non-retryable', error: failure };
        return;
      }
      if (retries >= immediate) {
        ctx.outcome = laterOrDeadLetter(ctx.delivery.attempt, delays, spread, failure);
        return;
      }
      // A closing consumer gives the message back with its immediate retries unused, rather than
      // hold it through a backoff or count it as exhausted.
      if (ctx.closing.aborted) {
        ctx.outcome = { kind: 'retry-later', delayMs: 0, error: failure };
        return;
      }
      const wait = spread(Math.min(maxDelayMs, minDelayMs * 2 ** retries));
      try {
        await ctx.clock.sleep(wait, ctx.closing);
      } catch {
        ctx.outcome = { kind: 'retry-later', delayMs: 0, error: failure };
        return;
      }
      try {
        await next();
        return;
      } catch (error) {
        failure = error;
      }
    }
  };
}

function laterOrDeadLetter(
  attempt: number,
  delays: readonly number[],
  spread: (ms: number) => number,
  error: unknown,
): Outcome {
  const delay = delays[attempt - 1];
  if (delay === undefined) return { kind: 'dead-letter', reason: 'exhausted', error };
  return { kind: 'retry-later', delayMs: spread(delay), error };
}
