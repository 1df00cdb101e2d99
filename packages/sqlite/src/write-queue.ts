import type Database from 'better-sqlite3';
import { TidingsError } from '@tidings/core';

/** Runs small writes (acks, nacks, dead letters, lease changes) together. @internal */
export interface WriteQueue {
  /** Queues a write; resolves with its result once the transaction that ran it has committed. */
  run<T>(write: () => T): Promise<T>;
  /**
   * Runs a write at once, in its own transaction, when nothing is queued to share it with (lower
   * latency for a lone claim); otherwise queues it like {@link run}.
   */
  runSoon<T>(write: () => T): Promise<T>;
  /** Runs what is queued now, synchronously. */
  flush(): void;
}

interface Pending {
  readonly write: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  ok: boolean;
  result: unknown;
}

/**
 * Writes queued during one turn of the event loop share one immediate transaction, so that a burst of
 * acks costs one commit instead of one each. Each write still settles on its own: one that throws
 * rejects alone (the others commit), and a failed commit rejects them all.
 *
 * A write that must be atomic across several statements wraps them in its own `db.transaction`, which
 * better-sqlite3 runs as a savepoint inside the batch.
 *
 * @internal
 */
export function createWriteQueue(db: Database.Database): WriteQueue {
  let queue: Pending[] = [];
  let scheduled = false;

  const runAll = db.transaction((batch: Pending[]) => {
    for (const pending of batch) {
      try {
        pending.result = pending.write();
        pending.ok = true;
      } catch (error) {
        pending.result = error;
      }
    }
  });

  const runOne = db.transaction(<T>(write: () => T): T => write());

  const flush = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    if (!db.open) {
      const error = new TidingsError(
        'TIDINGS_CLOSED',
        'The sqlite transport is closed; nothing more can be written.',
      );
      for (const pending of batch) pending.reject(error);
      return;
    }
    try {
      runAll.immediate(batch);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    for (const pending of batch) {
      if (pending.ok) pending.resolve(pending.result);
      else pending.reject(pending.result);
    }
  };

  return {
    run<T>(write: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({
          write,
          resolve: resolve as (value: unknown) => void,
          reject,
          ok: false,
          result: undefined,
        });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    runSoon<T>(write: () => T): Promise<T> {
      if (queue.length > 0) return this.run(write);
      return new Promise<T>((resolve) => resolve(runOne.immediate(write) as T));
    },
    flush,
  };
}
