import type { RedisClient } from './client.ts';
import * as scripts from './scripts.ts';

/** One entry to ack, and the lease it was handed out with. @internal */
export interface AckTarget {
  /** The stream the entry is in. */
  readonly stream: string;
  readonly entryId: string;
  readonly messageId: string;
  readonly token: string;
  /** The entry is in the group's own retry stream, so it is deleted once acked. */
  readonly own: boolean;
}

/** Collects the acks of one consumer and sends them to Redis together. @internal */
export interface AckBatcher {
  /**
   * Queues an ack. Resolves once the batch holding it has been applied; rejects with that batch's
   * error (`TIDINGS_UNAVAILABLE` for a lost connection), in which case nothing of it was applied and
   * the entry stays pending until its lease runs out.
   */
  ack(target: AckTarget): Promise<void>;
  /** Sends what is queued now and resolves once every batch sent so far has its answer. */
  drain(): Promise<void>;
}

interface Queued {
  readonly target: AckTarget;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The most acks of one script call. The script passes 4 hash fields per ack to one `HDEL` through
 * Lua's `unpack`, whose stack holds 8000 values.
 */
export const MAX_ACK_BATCH = 500;

/**
 * Makes the ack batcher of one consumer: every ack made during one turn of the event loop (typically
 * the handlers of one read, which finish together) goes to Redis as one script call, instead of one
 * call per ack, and each ack's promise settles with its batch. One script call is atomic, so a batch
 * is applied whole or, when the connection is lost before Redis runs it, not at all.
 *
 * @example
 * const acks = createAckBatcher(client, 'billing', attemptsKey);
 * await acks.ack({ stream, entryId, messageId, token, own: false });
 */
export function createAckBatcher(client: RedisClient, group: string, attemptsKey: string): AckBatcher {
  let queued: Queued[] = [];
  let scheduled = false;
  const sending = new Set<Promise<void>>();

  const send = async (batch: readonly Queued[]): Promise<void> => {
    const streams = new Map<string, number>();
    const args: string[] = [group];
    for (const { target } of batch) {
      let index = streams.get(target.stream);
      if (index === undefined) {
        // KEYS[1] is the attempts hash; the streams follow it.
        index = streams.size + 2;
        streams.set(target.stream, index);
      }
      args.push(String(index), target.entryId, target.messageId, target.token, target.own ? '1' : '0');
    }
    try {
      await scripts.ackBatch.run(client, [attemptsKey, ...streams.keys()], args);
    } catch (error) {
      for (const one of batch) one.reject(error);
      return;
    }
    for (const one of batch) one.resolve();
  };

  const flush = (): void => {
    scheduled = false;
    const all = queued;
    queued = [];
    for (let start = 0; start < all.length; start += MAX_ACK_BATCH) {
      const batch = send(all.slice(start, start + MAX_ACK_BATCH));
      sending.add(batch);
      void batch.finally(() => sending.delete(batch));
    }
  };

  return {
    ack(target) {
      return new Promise<void>((resolve, reject) => {
        queued.push({ target, resolve, reject });
        if (scheduled) return;
        scheduled = true;
        // After the I/O callbacks of this turn: the acks of handlers that finish together meet here.
        setImmediate(flush);
      });
    },
    async drain() {
      flush();
      await Promise.all([...sending]);
    },
  };
}
