import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { TidingsError } from '@tidings/core';
import type {
  Clock,
  DeadLetterQuery,
  DeadLetterRecord,
  DeadLetterStorage,
  FailureRecord,
  TransportMessage,
} from '@tidings/core';
import { type Clients, explain, isMissing } from './client.ts';
import { encodeBody, encodeMessage, fifoFields, type Names, safeJson } from './mapping.ts';
import type { Topology } from './topology.ts';

/** What a consumer dead-letters. @internal */
export interface DeadLetterRequest {
  readonly channel: string;
  readonly group: string;
  readonly message: TransportMessage;
  readonly failure: FailureRecord;
}

/** The dead letters of one transport, and the way in. @internal */
export interface DeadLetters {
  readonly storage: DeadLetterStorage;
  add(request: DeadLetterRequest): Promise<void>;
}

/** One dead letter as an SQS message body. */
interface Stored {
  readonly v: 1;
  readonly record: Omit<DeadLetterRecord, 'message'>;
  readonly message: Omit<TransportMessage, 'body'>;
  readonly body: string;
  readonly enc?: 'base64';
}

/** A dead letter held during one read, and what the read decided to do with it. */
interface Held {
  readonly record: DeadLetterRecord;
  readonly receipt: string;
  readonly sentAt: number;
  fate: 'keep' | 'remove';
}

/** How long a read holds the dead letters (they come back by themselves if the reader dies). */
const HOLD_SECONDS = 60;
/** SQS keeps a message 14 days at most; a read renews dead letters older than this. */
const RENEW_AFTER_MS = 7 * 24 * 60 * 60 * 1000;
/** A read gives up after this many receives (100 000 dead letters), rather than loop forever. */
const MAX_RECEIVES = 10_000;

const byTimeThenId = (a: DeadLetterRecord, b: DeadLetterRecord): number =>
  a.deadLetteredAt - b.deadLetteredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function toStored(record: Omit<DeadLetterRecord, 'message'>, message: TransportMessage): Stored {
  const { body, ...rest } = message;
  const encoded = encodeBody(body);
  return {
    v: 1,
    record,
    message: rest,
    body: encoded.text,
    ...(encoded.base64 ? { enc: 'base64' as const } : {}),
  };
}

function fromStored(text: string | undefined): DeadLetterRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const stored = JSON.parse(text) as Stored;
    if (stored.v !== 1) return undefined;
    const bytes = Buffer.from(stored.body, stored.enc === 'base64' ? 'base64' : 'utf8');
    return {
      ...stored.record,
      message: { ...stored.message, body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
    };
  } catch {
    return undefined;
  }
}

/**
 * Dead letters in one SQS FIFO queue per prefix (`<prefix>-dead-letters.fifo`), one message each, in a
 * message group of its own. SQS cannot browse a queue, so a read receives every dead letter (holding
 * them invisible for a minute), then hands back those it keeps and deletes those it removes. Reads of
 * one transport take turns; two processes reading at the same moment each see only part (documented).
 * A read also renews dead letters older than 7 days, as SQS drops messages after 14.
 *
 * @internal
 */
export function createDeadLetters(
  clients: Clients,
  names: Names,
  topology: Topology,
  clock: Clock,
  fifo: boolean,
  confirmWaitSeconds: number,
): DeadLetters {
  let turn: Promise<unknown> = Promise.resolve();

  /** Receives every dead letter, lets `decide` mark some for removal, then settles them all. */
  const withAll = <T>(what: string, decide: (held: Held[]) => T | Promise<T>): Promise<T> => {
    const run = turn.then(async () => {
      const queueUrl = await topology.deadLetterQueue();
      const held: Held[] = [];
      const receipts: string[] = [];
      try {
        for (let receives = 0; receives < MAX_RECEIVES; receives += 1) {
          // The read ends on a receive that waits, which asks every SQS server rather than a sample.
          const wait = receives === 0 ? 0 : confirmWaitSeconds;
          const out = await clients.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              VisibilityTimeout: HOLD_SECONDS,
              WaitTimeSeconds: wait,
              MessageSystemAttributeNames: ['SentTimestamp'],
            }),
          );
          const messages: Message[] = out.Messages ?? [];
          if (messages.length === 0 && (wait > 0 || confirmWaitSeconds === 0)) break;
          for (const message of messages) {
            if (message.ReceiptHandle === undefined) continue;
            receipts.push(message.ReceiptHandle);
            const record = fromStored(message.Body);
            // Unreadable entries are handed back untouched: they are not ours to judge.
            if (record === undefined) continue;
            const sentAt = Number(message.Attributes?.SentTimestamp ?? clock.now());
            held.push({ record, receipt: message.ReceiptHandle, sentAt, fate: 'keep' });
          }
        }
        return await decide(held);
      } catch (error) {
        throw explain(what, error);
      } finally {
        await settle(queueUrl, receipts, held).catch(() => undefined);
      }
    });
    turn = run.catch(() => undefined);
    return run;
  };

  /** Deletes what was removed and renews what is old, then hands back the rest. */
  const settle = async (queueUrl: string, receipts: readonly string[], held: readonly Held[]) => {
    const fate = new Map(held.map((one) => [one.receipt, one]));
    const old = clock.now() - RENEW_AFTER_MS;
    const removed: string[] = [];
    const kept: string[] = [];
    for (const receipt of receipts) {
      const one = fate.get(receipt);
      if (one?.fate === 'remove') removed.push(receipt);
      else if (one !== undefined && one.sentAt < old) {
        await send(queueUrl, one.record, `${one.record.id}:${clock.now()}`);
        removed.push(receipt);
      } else kept.push(receipt);
    }
    for (let start = 0; start < removed.length; start += 10)
      await clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: removed.slice(start, start + 10).map((r, i) => ({ Id: `e${i}`, ReceiptHandle: r })),
        }),
      );
    for (let start = 0; start < kept.length; start += 10)
      await clients.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: kept
            .slice(start, start + 10)
            .map((r, i) => ({ Id: `e${i}`, ReceiptHandle: r, VisibilityTimeout: 0 })),
        }),
      );
  };

  const send = async (queueUrl: string, record: DeadLetterRecord, dedup: string): Promise<void> => {
    const { message, ...rest } = record;
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: safeJson(toStored(rest, message)),
        MessageGroupId: record.id,
        MessageDeduplicationId: dedup,
      }),
    );
  };

  const records = (held: readonly Held[]): DeadLetterRecord[] => held.map((h) => h.record).sort(byTimeThenId);

  const storage: DeadLetterStorage = {
    list: (query: DeadLetterQuery) =>
      withAll('list dead letters', (held) => {
        let found = records(held).filter(
          (r) =>
            (query.group === undefined || r.group === query.group) &&
            (query.topic === undefined || r.message.topic === query.topic) &&
            (query.fingerprint === undefined || r.fingerprint === query.fingerprint) &&
            (query.since === undefined || r.deadLetteredAt >= query.since),
        );
        if (query.after !== undefined) {
          const after = held.find((h) => h.record.id === query.after)?.record;
          // A listing resumes after a dead letter that is gone too: by its id's place in the order.
          found = found.filter((r) =>
            after === undefined ? r.id > (query.after ?? '') : byTimeThenId(r, after) > 0,
          );
        }
        return query.limit === undefined ? found : found.slice(0, Math.max(0, query.limit));
      }),

    get: (id) => withAll('get a dead letter', (held) => held.find((h) => h.record.id === id)?.record),

    replay: (id) =>
      withAll('replay a dead letter', async (held) => {
        const one = held.find((h) => h.record.id === id);
        if (one === undefined) return false;
        const { record } = one;
        const queueName = names.queue(record.channel, record.group);
        const gone = (cause?: unknown) =>
          new TidingsError(
            'TIDINGS_NOT_FOUND',
            `Cannot replay dead letter ${id}: the queue ${queueName} of group ${record.group} is gone. ` +
              'Start a consumer of the group (it creates the queue), then replay again.',
            cause === undefined ? {} : { cause },
          );
        const queueUrl = await topology.queueUrl(queueName);
        if (queueUrl === undefined) throw gone();
        const encoded = encodeMessage(record.message);
        // Straight to the group's queue, so other groups of the channel do not get it again. Sent
        // before the dead letter is deleted: a crash in between leaves a duplicate, never a loss.
        try {
          await clients.sqs.send(
            new SendMessageCommand({
              QueueUrl: queueUrl,
              MessageBody: encoded.body,
              MessageAttributes: encoded.attributes,
              ...(fifo ? fifoFields(record.message, `${record.message.id}:replay:${record.id}`) : {}),
            }),
          );
        } catch (error) {
          if (isMissing(error)) throw gone(error);
          throw error;
        }
        one.fate = 'remove';
        return true;
      }),

    discard: (ids) =>
      withAll('discard dead letters', (held) => {
        const wanted = new Set(ids);
        const found = held.filter((h) => wanted.has(h.record.id));
        for (const one of found) one.fate = 'remove';
        return found.length;
      }),

    depth: () =>
      withAll('count dead letters', (held) => {
        const groups = new Map<string, { group: string; count: number; oldestAt: number }>();
        for (const { record } of held) {
          const row = groups.get(record.group);
          if (row === undefined)
            groups.set(record.group, { group: record.group, count: 1, oldestAt: record.deadLetteredAt });
          else {
            row.count += 1;
            row.oldestAt = Math.min(row.oldestAt, record.deadLetteredAt);
          }
        }
        return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
      }),
  };

  const add = async ({ channel, group, message, failure }: DeadLetterRequest): Promise<void> => {
    const record: DeadLetterRecord = {
      ...failure,
      id: randomUUID(),
      channel,
      group,
      deadLetteredAt: clock.now(),
      message,
    };
    try {
      await send(await topology.deadLetterQueue(), record, record.id);
    } catch (error) {
      throw explain('dead-letter a delivery', error);
    }
  };

  return { storage, add };
}
