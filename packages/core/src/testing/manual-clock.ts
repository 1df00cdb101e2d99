import type { Clock } from '../clock.ts';
import { TidingsError } from '../errors.ts';

/** A clock that moves only when a test tells it to; sleepers wake in deadline order. */
export interface ManualClock extends Clock {
  /**
   * Moves time forward by `ms`, waking every sleeper that falls due on the way, earliest first, and
   * letting the work each one starts run before waking the next, so timers set by woken code fire too
   * when they fall inside the same advance.
   */
  advance(ms: number): Promise<void>;
  /** Advances to each next deadline until nobody sleeps; throws after `limit` steps (default 10 000). */
  runAll(options?: { limit?: number }): Promise<void>;
  /** How many sleepers are waiting. */
  readonly pending: number;
}

interface Sleeper {
  readonly deadline: number;
  readonly order: number;
  readonly resolve: () => void;
  readonly detach: () => void;
}

/** Event-loop turns given to woken code before the next sleeper wakes; enough for promise chains and setImmediate hops. */
const TURNS = 4;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function letWorkRun(): Promise<void> {
  for (let i = 0; i < TURNS; i += 1) await turn();
}

/**
 * Creates a clock for tests: `now()` stands still until `advance` moves it, and `sleep` waits for that.
 *
 * @example
 * const clock = createManualClock();
 * const transport = memoryTransport({ clock });
 * await delivery.nack({ delayMs: 5_000 });
 * await clock.advance(5_000); // the redelivery happens now, with no real waiting
 */
export function createManualClock(startMs: number = Date.parse('2026-01-01T00:00:00Z')): ManualClock {
  if (!Number.isFinite(startMs)) {
    throw new TidingsError(
      'TIDINGS_INVALID_OPTIONS',
      `createManualClock: startMs must be a finite number of ms since the epoch (got ${String(startMs)}).`,
    );
  }
  let now = startMs;
  let order = 0;
  const sleepers = new Set<Sleeper>();
  // Advances run one after another, so two concurrent calls cannot wake sleepers out of order.
  let queue: Promise<void> = Promise.resolve();

  const nextDue = (until: number): Sleeper | undefined => {
    let best: Sleeper | undefined;
    for (const sleeper of sleepers) {
      if (sleeper.deadline > until) continue;
      if (
        best === undefined ||
        sleeper.deadline < best.deadline ||
        (sleeper.deadline === best.deadline && sleeper.order < best.order)
      ) {
        best = sleeper;
      }
    }
    return best;
  };

  const advanceTo = async (target: number): Promise<void> => {
    for (let due = nextDue(target); due !== undefined; due = nextDue(target)) {
      now = Math.max(now, due.deadline);
      sleepers.delete(due);
      due.detach();
      due.resolve();
      await letWorkRun();
    }
    now = Math.max(now, target);
    await letWorkRun();
  };

  const serially = (work: () => Promise<void>): Promise<void> => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    now: () => now,
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason as Error);
          return;
        }
        if (!(ms > 0)) {
          resolve();
          return;
        }
        const onAbort = (): void => {
          sleepers.delete(sleeper);
          reject(signal?.reason as Error);
        };
        const sleeper: Sleeper = {
          deadline: now + ms,
          order: order++,
          resolve,
          detach: () => signal?.removeEventListener('abort', onAbort),
        };
        sleepers.add(sleeper);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) {
        return Promise.reject(
          new TidingsError(
            'TIDINGS_INVALID_OPTIONS',
            `advance(ms) needs a finite number of 0 or more (got ${String(ms)}).`,
          ),
        );
      }
      return serially(() => advanceTo(now + ms));
    },
    runAll(options = {}) {
      const limit = options.limit ?? 10_000;
      return serially(async () => {
        for (let woken = 0; sleepers.size > 0; woken += 1) {
          if (woken >= limit) {
            throw new TidingsError(
              'TIDINGS_TIMEOUT',
              `runAll advanced ${limit} times and sleepers keep coming: something reschedules itself forever. ` +
                'Use advance(ms) to move time by a bounded amount instead.',
            );
          }
          const next = nextDue(Number.POSITIVE_INFINITY);
          if (next !== undefined) await advanceTo(next.deadline);
        }
      });
    },
    get pending() {
      return sleepers.size;
    },
  };
}
