import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { explain } from './client.ts';

/** Settles receipts in batches. @internal */
export interface Settler {
  /** Deletes a received message: an ack. */
  delete(queueUrl: string, receipt: string): Promise<void>;
  /** Changes how long a received message stays invisible: 0 hands it back, more delays or extends it. */
  changeVisibility(queueUrl: string, receipt: string, seconds: number): Promise<void>;
  /** Sends what is queued now and resolves once every batch sent so far has its answer. */
  drain(): Promise<void>;
}

interface Queued {
  readonly queueUrl: string;
  readonly receipt: string;
  /** `undefined` for a delete. */
  readonly seconds: number | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** SQS takes at most ten entries per batch call. */
export const MAX_BATCH = 10;

/** The error of one failed batch entry, as SQS reported it. */
function entryError(what: string, code: string | undefined, message: string | undefined): Error {
  const error = new Error(`Cannot ${what}: ${code ?? 'failed'}${message ? ` (${message})` : ''}`);
  error.name = code ?? 'BatchEntryFailed';
  return error;
}

/**
 * Makes the settler of one transport: every delete and visibility change made during one turn of the
 * event loop (the handlers of one receive typically finish together) goes to SQS as
 * DeleteMessageBatch and ChangeMessageVisibilityBatch calls of up to ten entries, and each call's
 * promise settles with its own entry. Visibility changes of one queue go out in the order they were
 * made, before the deletes of the same turn, so a nack that hands several messages of one FIFO group
 * back keeps their order.
 *
 * @example
 * const settler = createSettler(sqs);
 * await settler.delete(queueUrl, message.ReceiptHandle);
 */
export function createSettler(sqs: SQSClient): Settler {
  let queued: Queued[] = [];
  let scheduled = false;
  const sending = new Set<Promise<void>>();

  const sendChunk = async (queueUrl: string, chunk: readonly Queued[], kind: 'delete' | 'visibility') => {
    const what = kind === 'delete' ? 'delete (ack) a message' : 'change the visibility of a message';
    try {
      const out =
        kind === 'delete'
          ? await sqs.send(
              new DeleteMessageBatchCommand({
                QueueUrl: queueUrl,
                Entries: chunk.map((one, i) => ({ Id: `e${i}`, ReceiptHandle: one.receipt })),
              }),
            )
          : await sqs.send(
              new ChangeMessageVisibilityBatchCommand({
                QueueUrl: queueUrl,
                Entries: chunk.map((one, i) => ({
                  Id: `e${i}`,
                  ReceiptHandle: one.receipt,
                  VisibilityTimeout: one.seconds ?? 0,
                })),
              }),
            );
      const failed = new Map((out.Failed ?? []).map((entry) => [entry.Id, entry]));
      for (const [i, one] of chunk.entries()) {
        const failure = failed.get(`e${i}`);
        if (failure === undefined) one.resolve();
        else one.reject(entryError(what, failure.Code, failure.Message));
      }
    } catch (error) {
      const explained = explain(what, error);
      for (const one of chunk) one.reject(explained);
    }
  };

  const sendAll = async (queueUrl: string, all: readonly Queued[]): Promise<void> => {
    const changes = all.filter((one) => one.seconds !== undefined);
    const deletes = all.filter((one) => one.seconds === undefined);
    for (let start = 0; start < changes.length; start += MAX_BATCH)
      await sendChunk(queueUrl, changes.slice(start, start + MAX_BATCH), 'visibility');
    const chunks: Promise<void>[] = [];
    for (let start = 0; start < deletes.length; start += MAX_BATCH)
      chunks.push(sendChunk(queueUrl, deletes.slice(start, start + MAX_BATCH), 'delete'));
    await Promise.all(chunks);
  };

  const flush = (): void => {
    scheduled = false;
    const all = queued;
    queued = [];
    const byQueue = new Map<string, Queued[]>();
    for (const one of all) {
      const list = byQueue.get(one.queueUrl);
      if (list === undefined) byQueue.set(one.queueUrl, [one]);
      else list.push(one);
    }
    for (const [queueUrl, list] of byQueue) {
      const batch = sendAll(queueUrl, list);
      sending.add(batch);
      void batch.finally(() => sending.delete(batch));
    }
  };

  const enqueue = (queueUrl: string, receipt: string, seconds: number | undefined): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      queued.push({ queueUrl, receipt, seconds, resolve, reject });
      if (scheduled) return;
      scheduled = true;
      // After the I/O callbacks of this turn: the settlements of handlers that finish together meet here.
      setImmediate(flush);
    });

  return {
    delete: (queueUrl, receipt) => enqueue(queueUrl, receipt, undefined),
    changeVisibility: (queueUrl, receipt, seconds) => enqueue(queueUrl, receipt, Math.max(0, seconds)),
    async drain() {
      flush();
      await Promise.all([...sending]);
    },
  };
}
