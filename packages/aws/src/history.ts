/** What earlier deliveries of a message went through, as far as this process saw. */
export interface FailureRecordSoFar {
  /** Handler runs over the earlier deliveries. */
  readonly tries: number;
  readonly firstFailedAt: number;
}

/** Failure histories by queue and SQS message id, kept in memory. @internal */
export interface FailureHistory {
  get(key: string): FailureRecordSoFar | undefined;
  set(key: string, value: FailureRecordSoFar): void;
  delete(key: string): void;
}

/** How many histories are kept at most; the oldest go first. */
const MAX_ENTRIES = 10_000;

/**
 * SQS cannot change a message's attributes on a nack (that would need a new copy, which loses the
 * FIFO position and the receive count), so the handler runs and first failure time of a nacked message
 * live here, in the transport that nacked it. A redelivery to another process starts without them:
 * it counts one run per earlier delivery, and the bus uses its own first failure time.
 *
 * @internal
 */
export function createFailureHistory(): FailureHistory {
  const entries = new Map<string, FailureRecordSoFar>();
  return {
    get: (key) => entries.get(key),
    set(key, value) {
      entries.delete(key);
      entries.set(key, value);
      if (entries.size > MAX_ENTRIES) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },
    delete: (key) => {
      entries.delete(key);
    },
  };
}
