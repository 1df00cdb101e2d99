import { randomUUID } from 'node:crypto';
import type {
  Clock,
  DeadLetterQuery,
  DeadLetterRecord,
  DeadLetterStorage,
  FailureRecord,
  TransportMessage,
} from '@tidings/core';
import { type Connection, command, type RedisClient } from './client.ts';
import { fieldsToMessage, type Keys, messageToFields } from './mapping.ts';
import * as scripts from './scripts.ts';

/** A dead letter as stored: the record, with the message's fields instead of its bytes. @internal */
export interface StoredRecord extends Omit<DeadLetterRecord, 'message'> {
  readonly fields: string[];
}

/** What a settle needs to dead-letter one delivery. @internal */
export interface MoveRequest {
  readonly stream: string;
  readonly attempts: string;
  readonly group: string;
  readonly channel: string;
  readonly entryId: string;
  readonly token: string;
  readonly ownStream: boolean;
  readonly message: TransportMessage;
  readonly failure: FailureRecord;
}

/** The dead letters of one transport, and the move into them. @internal */
export interface DeadLetters {
  readonly storage: DeadLetterStorage;
  move(request: MoveRequest): Promise<void>;
}

function decode(json: string | null | undefined): DeadLetterRecord | undefined {
  if (json == null) return undefined;
  const { fields, ...rest } = JSON.parse(json) as StoredRecord;
  return { ...rest, message: fieldsToMessage(fields, '') };
}

/** Builds the stored form of a dead letter. @internal */
export function storedRecord(
  id: string,
  where: { channel: string; group: string },
  message: TransportMessage,
  failure: FailureRecord,
  deadLetteredAt: number,
): StoredRecord {
  return {
    ...failure,
    id,
    channel: where.channel,
    group: where.group,
    deadLetteredAt,
    fields: messageToFields(message),
  };
}

/**
 * Reading, discarding and counting the dead letters in a hash of JSON records (`<prefix>:dl`), indexed
 * by time in one sorted set for all and one per group; ties in time are ordered by id, as ZRANGE orders
 * equal scores by member. How a replay reaches its group is the transport's: `replay`.
 *
 * @internal
 */
export function createDeadLetterStorage(
  client: RedisClient,
  keys: Keys,
  replay: (id: string, record: DeadLetterRecord) => Promise<boolean>,
): DeadLetterStorage {
  const records = async (ids: readonly string[]): Promise<DeadLetterRecord[]> => {
    if (ids.length === 0) return [];
    const values = await command<(string | null)[]>(client, ['HMGET', keys.deadLetters, ...ids]);
    return values.map(decode).filter((r): r is DeadLetterRecord => r !== undefined);
  };

  const storage: DeadLetterStorage = {
    async list(query: DeadLetterQuery) {
      const index = query.group === undefined ? keys.deadLetterIndex : keys.deadLetterGroup(query.group);
      const min = query.since === undefined ? '-inf' : String(query.since);
      let ids = await command<string[]>(client, ['ZRANGEBYSCORE', index, min, '+inf']);
      if (query.after !== undefined) {
        const at = ids.indexOf(query.after);
        if (at >= 0) ids = ids.slice(at + 1);
      }
      const out: DeadLetterRecord[] = [];
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      // In pages, so that a filter that matches little does not load everything at once.
      for (let start = 0; start < ids.length && out.length < limit; start += 200) {
        for (const record of await records(ids.slice(start, start + 200))) {
          if (query.topic !== undefined && record.message.topic !== query.topic) continue;
          if (query.fingerprint !== undefined && record.fingerprint !== query.fingerprint) continue;
          out.push(record);
          if (out.length >= limit) break;
        }
      }
      return out;
    },

    async get(id) {
      return decode(await command<string | null>(client, ['HGET', keys.deadLetters, id]));
    },

    async replay(id) {
      const record = await storage.get(id);
      return record === undefined ? false : replay(id, record);
    },

    async discard(ids) {
      let count = 0;
      for (const record of await records(ids)) {
        const removed = await client
          .multi()
          .addCommand(['HDEL', keys.deadLetters, record.id])
          .addCommand(['ZREM', keys.deadLetterIndex, record.id])
          .addCommand(['ZREM', keys.deadLetterGroup(record.group), record.id])
          .exec();
        if (Number(removed[0]) === 1) count += 1;
      }
      return count;
    },

    async depth() {
      const groups = await command<string[]>(client, ['SMEMBERS', keys.deadLetterGroups]);
      const out: { group: string; count: number; oldestAt: number }[] = [];
      for (const group of groups.sort()) {
        const key = keys.deadLetterGroup(group);
        const count = await command<number>(client, ['ZCARD', key]);
        if (count === 0) {
          await command(client, ['SREM', keys.deadLetterGroups, group]);
          continue;
        }
        const oldest = await command<string[]>(client, ['ZRANGE', key, '0', '0', 'WITHSCORES']);
        out.push({ group, count, oldestAt: Number(oldest[1]) });
      }
      return out;
    },
  };
  return storage;
}

/**
 * The dead letters of the Streams transport: a replay goes into the group's own retry stream, and a
 * move acks the entry and stores the record in one script.
 *
 * @internal
 */
export function createDeadLetters(client: RedisClient, keys: Keys, clock: Clock): DeadLetters {
  const storage = createDeadLetterStorage(client, keys, async (id, record) => {
    const { channel, group, message } = record;
    const done = await scripts.replay.run<number>(
      client,
      [
        keys.deadLetters,
        keys.deadLetterIndex,
        keys.deadLetterGroup(group),
        keys.retry(channel, message.topic, group),
        keys.attempts(channel, group),
      ],
      [id, group, JSON.stringify(messageToFields(message)), message.id],
    );
    return done === 1;
  });

  const move = async (request: MoveRequest): Promise<void> => {
    const id = randomUUID();
    const deadLetteredAt = clock.now();
    const { message, failure } = request;
    const stored = storedRecord(id, request, message, failure, deadLetteredAt);
    await scripts.deadLetter.run(
      client,
      [
        request.stream,
        request.attempts,
        keys.deadLetters,
        keys.deadLetterIndex,
        keys.deadLetterGroup(request.group),
        keys.deadLetterGroups,
      ],
      [
        request.group,
        request.entryId,
        message.id,
        request.token,
        request.ownStream ? '1' : '0',
        id,
        JSON.stringify(stored),
        String(deadLetteredAt),
        request.group,
      ],
    );
  };

  return { storage, move };
}

/**
 * The storage, waiting for the connection first: at most `timeoutMs` while it is first made, not at
 * all while it is lost (`TIDINGS_UNAVAILABLE` at once). @internal
 */
export function whenConnected(
  storage: DeadLetterStorage,
  connection: Connection,
  timeoutMs: number,
): DeadLetterStorage {
  const ready = (what: string): Promise<void> => connection.whenReady(what, timeoutMs);
  return {
    list: async (query) => {
      await ready('list dead letters');
      return storage.list(query);
    },
    get: async (id) => {
      await ready('get a dead letter');
      return storage.get(id);
    },
    replay: async (id) => {
      await ready('replay a dead letter');
      return storage.replay(id);
    },
    discard: async (ids) => {
      await ready('discard dead letters');
      return storage.discard(ids);
    },
    depth: async () => {
      await ready('count dead letters');
      return storage.depth();
    },
  };
}
