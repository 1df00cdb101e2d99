import type { MsgRequest, StoredMsg } from '@nats-io/jetstream';
import type {
  Clock,
  DeadLetterQuery,
  DeadLetterRecord,
  DeadLetterStorage,
  FailureRecord,
  TransportMessage,
} from '@tidings/core';
import { translate } from './client.ts';
import { escapeName, type Names, toNatsMessage, toTransportMessage } from './mapping.ts';
import { API, apiCode, type Streams } from './streams.ts';

/** The header of a dead letter holding its failure record, channel, group and time. */
export const DEAD_LETTER_HEADER = 'Tidings-Dead-Letter';

/** What a settle needs to dead-letter one delivery. @internal */
export interface MoveRequest {
  readonly channel: string;
  readonly group: string;
  /** The message's sequence in its channel stream. */
  readonly sequence: number;
  readonly message: TransportMessage;
  readonly failure: FailureRecord;
}

/** The dead letters of one transport, and the move into them. @internal */
export interface DeadLetters {
  readonly storage: DeadLetterStorage;
  move(request: MoveRequest): Promise<void>;
}

type StoredFacts = Omit<DeadLetterRecord, 'id' | 'message'>;

const SEQUENCE = /^[1-9][0-9]{0,15}$/;
/** The failure record travels in a header, and JetStream limits headers to 64 KiB in all. */
const MAX_TEXT = 8_000;

function shrink(failure: FailureRecord): FailureRecord {
  const { message, stack } = failure.error;
  if (message.length <= MAX_TEXT && (stack === undefined || stack.length <= MAX_TEXT)) return failure;
  const cut = (text: string): string =>
    text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT)}… (cut)`;
  return {
    ...failure,
    error: { ...failure.error, message: cut(message), stack: stack === undefined ? undefined : cut(stack) },
  };
}

/**
 * Dead letters as messages of one stream per prefix (`<prefix>_dlq`), on the subject
 * `<prefix>.dlq.<channel>.<group>`: the original body, the original envelope header, and one header
 * with the failure record. A dead letter's id is its stream sequence, so listings in sequence order
 * are in the order the dead letters were written.
 *
 * @internal
 */
export function createDeadLetters(streams: Streams, names: Names, clock: Clock): DeadLetters {
  const stream = names.deadLetterStream;

  const decode = (stored: StoredMsg): DeadLetterRecord | undefined => {
    const where = names.parseDeadLetterSubject(stored.subject);
    if (where === undefined) return undefined;
    let facts: Partial<StoredFacts> = {};
    try {
      facts = JSON.parse(stored.header.get(DEAD_LETTER_HEADER) || '{}') as Partial<StoredFacts>;
    } catch {
      // A dead letter written by hand: keep what the subject says.
    }
    return {
      handler: facts.handler ?? '',
      error: facts.error ?? { name: 'Error', message: '' },
      attempts: facts.attempts ?? 0,
      firstFailedAt: facts.firstFailedAt ?? 0,
      lastFailedAt: facts.lastFailedAt ?? 0,
      fingerprint: facts.fingerprint ?? '',
      reason: facts.reason ?? 'exhausted',
      id: String(stored.seq),
      channel: where.channel,
      group: where.group,
      deadLetteredAt: facts.deadLetteredAt ?? stored.time.getTime(),
      message: toTransportMessage(stored.header, stored.data, ''),
    };
  };

  /** The first stored message at or after `sequence` on `filter`, or `undefined`. */
  const next = async (sequence: number, filter: string): Promise<StoredMsg | undefined> => {
    const { jsm } = await streams.client();
    try {
      // The server (2.9 and later) answers next_by_subj on this API too; the client's type omits it.
      const query = { seq: sequence, next_by_subj: filter } as unknown as MsgRequest;
      return (await jsm.streams.getMessage(stream, query)) ?? undefined;
    } catch (error) {
      if (apiCode(error) === API.streamNotFound || apiCode(error) === API.noMessage) return undefined;
      throw translate(error, 'reading dead letters');
    }
  };

  const get = async (id: string): Promise<DeadLetterRecord | undefined> => {
    if (typeof id !== 'string' || !SEQUENCE.test(id)) return undefined;
    const { jsm } = await streams.client();
    try {
      const stored = await jsm.streams.getMessage(stream, { seq: Number(id) });
      return stored === null ? undefined : decode(stored);
    } catch (error) {
      if (apiCode(error) === API.streamNotFound || apiCode(error) === API.noMessage) return undefined;
      throw translate(error, 'reading a dead letter');
    }
  };

  const remove = async (id: string): Promise<boolean> => {
    if (!SEQUENCE.test(id)) return false;
    const { jsm } = await streams.client();
    try {
      return await jsm.streams.deleteMessage(stream, Number(id), false);
    } catch (error) {
      if (apiCode(error) !== undefined) return false;
      throw translate(error, 'removing a dead letter');
    }
  };

  const storage: DeadLetterStorage = {
    async list(query: DeadLetterQuery) {
      const filter =
        query.group === undefined ? names.deadLetterFilter : names.deadLetterGroupFilter(query.group);
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      let sequence = query.after !== undefined && SEQUENCE.test(query.after) ? Number(query.after) + 1 : 1;
      const out: DeadLetterRecord[] = [];
      while (out.length < limit) {
        const stored = await next(sequence, filter);
        if (stored === undefined) break;
        sequence = stored.seq + 1;
        const record = decode(stored);
        if (record === undefined) continue;
        if (query.group !== undefined && record.group !== query.group) continue;
        if (query.topic !== undefined && record.message.topic !== query.topic) continue;
        if (query.fingerprint !== undefined && record.fingerprint !== query.fingerprint) continue;
        if (query.since !== undefined && record.deadLetteredAt < query.since) continue;
        out.push(record);
      }
      return out;
    },

    get,

    async replay(id) {
      const record = await get(id);
      if (record === undefined) return false;
      const { channel, group, message } = record;
      await streams.ensureChannel(channel);
      const { js } = await streams.client();
      // A replay id of its own: the original id may still sit in the duplicate window, and a replay
      // retried after a crash must not be published twice.
      const { headers, data } = toNatsMessage(message, `replay-${stream}-${id}-${record.deadLetteredAt}`);
      try {
        await js.publish(names.groupSubject(channel, group, message.topic), data, { headers });
      } catch (error) {
        throw translate(error, 'replaying a dead letter');
      }
      return remove(id);
    },

    async discard(ids) {
      let count = 0;
      for (const id of new Set(ids)) if (await remove(id)) count += 1;
      return count;
    },

    async depth() {
      const { jsm } = await streams.client();
      let subjects: Record<string, number>;
      try {
        const info = await jsm.streams.info(stream, { subjects_filter: names.deadLetterFilter });
        subjects = info.state.subjects ?? {};
      } catch (error) {
        if (apiCode(error) === API.streamNotFound) return [];
        throw translate(error, 'counting dead letters');
      }
      const counts = new Map<string, number>();
      for (const [subject, count] of Object.entries(subjects)) {
        const where = names.parseDeadLetterSubject(subject);
        if (where !== undefined && count > 0) counts.set(where.group, (counts.get(where.group) ?? 0) + count);
      }
      const out: { group: string; count: number; oldestAt: number }[] = [];
      for (const group of [...counts.keys()].sort()) {
        const oldest = await next(1, names.deadLetterGroupFilter(group));
        const record = oldest === undefined ? undefined : decode(oldest);
        if (record === undefined) continue;
        out.push({ group, count: counts.get(group) ?? 0, oldestAt: record.deadLetteredAt });
      }
      return out;
    },
  };

  const move = async (request: MoveRequest): Promise<void> => {
    const { channel, group, message, failure } = request;
    await streams.ensureDeadLetters();
    const { js } = await streams.client();
    const facts: StoredFacts = { ...shrink(failure), channel, group, deadLetteredAt: clock.now() };
    // Keyed by where the message sat: a move repeated after a crash between it and the ack is one.
    const { headers, data } = toNatsMessage(
      message,
      `dead-${names.channelStream(channel)}-${escapeName(group)}-${request.sequence}`,
    );
    headers.set(DEAD_LETTER_HEADER, JSON.stringify(facts));
    try {
      await js.publish(names.deadLetterSubject(channel, group), data, { headers });
    } catch (error) {
      throw translate(error, 'dead-lettering');
    }
  };

  return { storage, move };
}
