import { randomUUID } from 'node:crypto';
import type { Channel } from 'amqplib';
import { TidingsError } from '@tidings/core';
import type {
  Clock,
  DeadLetterQuery,
  DeadLetterRecord,
  DeadLetterStorage,
  FailureRecord,
  TransportMessage,
} from '@tidings/core';
import type { Connection } from './client.ts';
import { unavailable } from './client.ts';
import { encodeMessage, frame, type Names, unframe } from './mapping.ts';
import { declareDeadLetters, type Declared } from './topology.ts';

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

/** One entry of the stream: a dead letter, the removal of some (replayed or discarded), or a read mark. */
type Entry =
  | {
      readonly kind: 'dead-letter';
      readonly record: Omit<DeadLetterRecord, 'message'>;
      readonly message: Omit<TransportMessage, 'body'>;
    }
  | { readonly kind: 'removed'; readonly ids: readonly string[]; readonly why: 'replayed' | 'discarded' }
  | { readonly kind: 'mark'; readonly token: string };

/** How long one read of the stream may take before it fails as unavailable. */
const READ_TIMEOUT_MS = 15_000;
const READ_PREFETCH = 500;

const byTimeThenId = (a: DeadLetterRecord, b: DeadLetterRecord): number =>
  a.deadLetteredAt - b.deadLetteredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function decodeEntry(content: Buffer): { entry: Entry; body: Uint8Array } | undefined {
  const framed = unframe(content);
  if (framed === undefined || typeof framed.meta !== 'object' || framed.meta === null) return undefined;
  return { entry: framed.meta as Entry, body: framed.body };
}

/**
 * Dead letters in one RabbitMQ stream per prefix (`<prefix>.~dead-letters`). A queue cannot be browsed,
 * a stream can: it is read from its first offset without consuming anything. Records are appended and
 * never changed; replaying or discarding appends a removal, and every read folds removals away.
 *
 * A read first appends a mark of its own and reads until it meets it, so it sees every write confirmed
 * before it began (a stream does not say where its end is). Each read goes through the whole stream:
 * fine for the hundreds of dead letters an operator looks at, not for millions (set a retention policy
 * on the stream, knowing it drops old dead letters too).
 *
 * @internal
 */
export function createDeadLetters(
  connection: Connection,
  names: Names,
  clock: Clock,
  declared: Declared,
): DeadLetters {
  const declare = async (publisher: Channel): Promise<void> => {
    const model = connection.current();
    if (model === undefined) return declareDeadLetters(publisher, names);
    await declared.once(model, names.deadLetters, () => declareDeadLetters(publisher, names));
  };

  const append = (what: string, entries: readonly { entry: Entry; body?: Uint8Array }[]): Promise<void> =>
    connection.publish(
      what,
      entries.map(({ entry, body }) => ({
        exchange: '',
        routingKey: names.deadLetters,
        content: frame(entry, body ?? new Uint8Array(0)),
        options: { persistent: true, contentType: 'application/vnd.tidings.dead-letter' },
      })),
      declare,
    );

  /** Every dead letter still stored, in listing order. */
  const readAll = async (what: string): Promise<DeadLetterRecord[]> => {
    const token = randomUUID();
    await append(what, [{ entry: { kind: 'mark', token } }]);
    const records = new Map<string, DeadLetterRecord>();
    await connection.withChannel(what, async (channel) => {
      await channel.prefetch(READ_PREFETCH);
      await new Promise<void>((resolve, reject) => {
        let tag: string | undefined;
        let done = false;
        const finish = (error?: Error): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          channel.removeListener('close', onClose);
          if (tag !== undefined) void channel.cancel(tag).catch(() => undefined);
          if (error === undefined) resolve();
          else reject(error);
        };
        const onClose = (): void =>
          finish(unavailable(what, 'the channel closed while reading dead letters'));
        const timer = setTimeout(
          () => finish(unavailable(what, `the dead-letter stream was not read within ${READ_TIMEOUT_MS} ms`)),
          READ_TIMEOUT_MS,
        );
        channel.once('close', onClose);
        channel
          .consume(
            names.deadLetters,
            (raw) => {
              if (raw === null || done) return;
              channel.ack(raw);
              const decoded = decodeEntry(raw.content);
              if (decoded === undefined) return;
              const { entry, body } = decoded;
              if (entry.kind === 'dead-letter') {
                records.set(entry.record.id, {
                  ...entry.record,
                  message: { ...entry.message, body: new Uint8Array(body) },
                });
              } else if (entry.kind === 'removed') {
                for (const id of entry.ids) records.delete(id);
              } else if (entry.kind === 'mark' && entry.token === token) {
                finish();
              }
            },
            { noAck: false, arguments: { 'x-stream-offset': 'first' } },
          )
          .then(
            (reply) => {
              tag = reply.consumerTag;
              if (done) void channel.cancel(tag).catch(() => undefined);
            },
            (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
          );
      });
    });
    return [...records.values()].sort(byTimeThenId);
  };

  const storage: DeadLetterStorage = {
    async list(query: DeadLetterQuery) {
      let records = await readAll('list dead letters');
      if (query.group !== undefined) records = records.filter((r) => r.group === query.group);
      const since = query.since;
      if (since !== undefined) records = records.filter((r) => r.deadLetteredAt >= since);
      if (query.after !== undefined) {
        const at = records.findIndex((r) => r.id === query.after);
        if (at >= 0) records = records.slice(at + 1);
      }
      if (query.topic !== undefined) records = records.filter((r) => r.message.topic === query.topic);
      if (query.fingerprint !== undefined)
        records = records.filter((r) => r.fingerprint === query.fingerprint);
      return query.limit === undefined ? records : records.slice(0, Math.max(0, query.limit));
    },

    async get(id) {
      return (await readAll('get a dead letter')).find((record) => record.id === id);
    },

    async replay(id) {
      const record = (await readAll('replay a dead letter')).find((r) => r.id === id);
      if (record === undefined) return false;
      const queue = names.queue(record.channel, record.group);
      // The default exchange drops what it cannot route without a word: make sure the queue is there.
      await connection.withChannel('replay a dead letter', async (channel) => {
        try {
          await channel.checkQueue(queue);
        } catch (error) {
          throw new TidingsError(
            'TIDINGS_NOT_FOUND',
            `Cannot replay dead letter ${id}: the queue ${queue} of group ${record.group} is gone. ` +
              'Start a consumer of the group (it declares the queue), then replay again.',
            { cause: error },
          );
        }
      });
      // Published before it is removed: a crash in between leaves a duplicate, never a loss.
      const { content, properties } = encodeMessage(record.message);
      await connection.publish('replay a dead letter', [
        { exchange: '', routingKey: queue, content, options: properties },
      ]);
      await append('replay a dead letter', [{ entry: { kind: 'removed', ids: [id], why: 'replayed' } }]);
      return true;
    },

    async discard(ids) {
      const wanted = new Set(ids);
      const found = (await readAll('discard dead letters')).filter((r) => wanted.has(r.id)).map((r) => r.id);
      if (found.length > 0)
        await append('discard dead letters', [{ entry: { kind: 'removed', ids: found, why: 'discarded' } }]);
      return found.length;
    },

    async depth() {
      const groups = new Map<string, { group: string; count: number; oldestAt: number }>();
      for (const record of await readAll('count dead letters')) {
        const row = groups.get(record.group);
        if (row === undefined)
          groups.set(record.group, { group: record.group, count: 1, oldestAt: record.deadLetteredAt });
        else {
          row.count += 1;
          row.oldestAt = Math.min(row.oldestAt, record.deadLetteredAt);
        }
      }
      return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    },
  };

  const add = async ({ channel, group, message, failure }: DeadLetterRequest): Promise<void> => {
    const { body, ...rest } = message;
    const record: Omit<DeadLetterRecord, 'message'> = {
      ...failure,
      id: randomUUID(),
      channel,
      group,
      deadLetteredAt: clock.now(),
    };
    await append('dead-letter a delivery', [{ entry: { kind: 'dead-letter', record, message: rest }, body }]);
  };

  return { storage, add };
}
