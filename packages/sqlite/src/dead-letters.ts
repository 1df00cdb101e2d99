import type Database from 'better-sqlite3';
import { invalidOptions, TidingsError } from '@tidings/core';
import type {
  Clock,
  DeadLetterQuery,
  DeadLetterRecord,
  DeadLetterStorage,
  FailureRecord,
  TransportMessage,
} from '@tidings/core';
import { v7 as uuidv7 } from 'uuid';
import { promised } from './promised.ts';
import { decodeBody, decodeHeaders, encodeHeaders, rowToMessage } from '@tidings/core';

interface DeadLetterRow {
  id: string;
  channel: string;
  group_name: string;
  message_id: unknown;
  topic: unknown;
  key: unknown;
  headers: unknown;
  body: unknown;
  handler: string;
  error: string;
  attempts: number;
  first_failed_at: number;
  last_failed_at: number;
  fingerprint: string;
  reason: string;
  dead_lettered_at: number;
}

/** What a delivery needs to move itself to the dead letters. @internal */
export interface DeadLetterMove {
  readonly channel: string;
  readonly group: string;
  readonly seq: number;
  readonly leaseToken: number;
  readonly message: TransportMessage;
  readonly failure: FailureRecord;
}

/** The dead-letter side of the transport: the storage, and the atomic move a delivery makes. @internal */
export interface DeadLetters {
  readonly storage: DeadLetterStorage;
  /** Deletes the delivery and stores the dead letter in one transaction; false when the lease was lost. */
  move(move: DeadLetterMove): boolean;
}

const REASONS = new Set(['exhausted', 'non-retryable', 'invalid', 'crash-loop']);
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function encodeError(error: FailureRecord['error']): string {
  const stored: Record<string, string> = { name: String(error.name), message: String(error.message) };
  if (typeof error.stack === 'string') stored.stack = error.stack;
  if (typeof error.code === 'string') stored.code = error.code;
  return JSON.stringify(stored);
}

function decodeError(text: string): FailureRecord['error'] {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const error: { name: string; message: string; stack?: string; code?: string } = {
      name: typeof parsed.name === 'string' ? parsed.name : 'Error',
      message: typeof parsed.message === 'string' ? parsed.message : '',
    };
    if (typeof parsed.stack === 'string') error.stack = parsed.stack;
    if (typeof parsed.code === 'string') error.code = parsed.code;
    return error;
  } catch {
    return { name: 'Error', message: text };
  }
}

function toRecord(row: DeadLetterRow): DeadLetterRecord {
  return {
    id: row.id,
    channel: row.channel,
    group: row.group_name,
    message: rowToMessage({
      id: row.message_id,
      topic: row.topic,
      key: row.key,
      headers: row.headers,
      body: row.body,
    }),
    handler: row.handler,
    error: decodeError(row.error),
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
    fingerprint: row.fingerprint,
    reason: (REASONS.has(row.reason) ? row.reason : 'invalid') as FailureRecord['reason'],
    deadLetteredAt: row.dead_lettered_at,
  };
}

function checkQuery(query: DeadLetterQuery): void {
  const problems: string[] = [];
  for (const name of ['group', 'topic', 'fingerprint', 'after'] as const) {
    const value: unknown = query[name];
    if (value !== undefined && typeof value !== 'string')
      problems.push(`${name} must be a string (got ${typeof value})`);
  }
  if (query.since !== undefined && !Number.isFinite(query.since))
    problems.push('since must be a time in ms since the epoch');
  if (query.limit !== undefined && !(Number.isInteger(query.limit) && query.limit >= 0)) {
    problems.push(`limit must be an integer >= 0 (got ${String(query.limit)})`);
  }
  if (problems.length > 0) throw invalidOptions('deadLetters.list', problems);
}

/**
 * Dead letters kept in the transport's database. Each holds its own copy of the message, so replay
 * works long after the original row was cleaned up; ids are UUIDv7 of the dead-lettering time, so a
 * listing cursor stays valid even when the dead letter it names was discarded meanwhile.
 *
 * @internal
 */
export function createDeadLetters(context: {
  readonly db: Database.Database;
  readonly clock: Clock;
  readonly closed: () => boolean;
  /** Called after a replay commits, so this process's consumers of the group look at once. */
  readonly wake: (group: string) => void;
}): DeadLetters {
  const { db, clock } = context;
  const deleteDelivery = db.prepare(
    'DELETE FROM tidings_deliveries WHERE seq = ? AND group_name = ? AND lease_token = ?',
  );
  const insert = db.prepare(
    `INSERT INTO tidings_dead_letters (id, channel, group_name, seq, message_id, topic, key, headers, handler, error,
       attempts, first_failed_at, last_failed_at, fingerprint, reason, dead_lettered_at, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectOne = db.prepare<[string], DeadLetterRow>('SELECT * FROM tidings_dead_letters WHERE id = ?');
  const deleteOne = db.prepare('DELETE FROM tidings_dead_letters WHERE id = ?');
  const insertMessage = db.prepare(
    `INSERT INTO tidings_messages (id, channel, topic, key, published_at, headers, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertDelivery = db.prepare(
    `INSERT INTO tidings_deliveries (seq, group_name, channel, topic, key, available_at)
     SELECT :seq, :group, :channel, :topic, iif(coalesce(s.ordered, 0), :key, NULL), :now
     FROM (SELECT 1) LEFT JOIN tidings_subscriptions s
       ON s.channel = :channel AND s.topic = :topic AND s.group_name = :group`,
  );
  const depthQuery = db.prepare<[], { group: string; count: number; oldestAt: number }>(
    `SELECT group_name AS "group", count(*) AS count, min(dead_lettered_at) AS oldestAt
     FROM tidings_dead_letters GROUP BY group_name ORDER BY group_name`,
  );
  const listQueries = new Map<string, Database.Statement<unknown[], DeadLetterRow>>();

  const move = db.transaction((entry: DeadLetterMove): boolean => {
    if (deleteDelivery.run(entry.seq, entry.group, entry.leaseToken).changes === 0) return false;
    const { message, failure } = entry;
    const now = clock.now();
    insert.run(
      uuidv7({ msecs: now }),
      entry.channel,
      entry.group,
      entry.seq,
      message.id,
      message.topic,
      message.key ?? null,
      encodeHeaders(message.headers),
      String(failure.handler),
      encodeError(failure.error),
      failure.attempts,
      failure.firstFailedAt,
      failure.lastFailedAt,
      String(failure.fingerprint),
      failure.reason,
      now,
      message.body,
    );
    return true;
  });

  const replay = db.transaction((id: string): string | undefined => {
    const row = selectOne.get(id);
    if (row === undefined) return undefined;
    // Replay is a new publish to one group: a new message row at the tail, whatever became of the old one.
    const now = clock.now();
    const body = decodeBody(row.body);
    const headers = encodeHeaders(decodeHeaders(row.headers));
    const key = typeof row.key === 'string' ? row.key : null;
    const { lastInsertRowid } = insertMessage.run(
      row.message_id,
      row.channel,
      row.topic,
      key,
      now,
      headers,
      body,
    );
    insertDelivery.run({
      seq: lastInsertRowid,
      group: row.group_name,
      channel: row.channel,
      topic: row.topic,
      key,
      now,
    });
    deleteOne.run(id);
    return row.group_name;
  });

  const discard = db.transaction((ids: readonly string[]): number => {
    let count = 0;
    for (const id of new Set(ids)) count += deleteOne.run(id).changes;
    return count;
  });

  const open = (): void => {
    if (context.closed()) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        'The sqlite transport is closed; open a new one to manage dead letters.',
      );
    }
  };

  const listStatement = (query: DeadLetterQuery): Database.Statement<unknown[], DeadLetterRow> => {
    const where: string[] = [];
    if (query.group !== undefined) where.push('group_name = :group');
    if (query.topic !== undefined) where.push('topic = :topic');
    if (query.fingerprint !== undefined) where.push('fingerprint = :fingerprint');
    if (query.since !== undefined) where.push('dead_lettered_at >= :since');
    if (query.after !== undefined) {
      where.push('(dead_lettered_at > :afterAt OR (dead_lettered_at = :afterAt AND id > :after))');
    }
    const sql =
      `SELECT * FROM tidings_dead_letters ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ` +
      'ORDER BY dead_lettered_at, id LIMIT :limit';
    let statement = listQueries.get(sql);
    if (statement === undefined) {
      statement = db.prepare<unknown[], DeadLetterRow>(sql);
      listQueries.set(sql, statement);
    }
    return statement;
  };

  /** Where a listing resumes: the time of the `after` dead letter, or the time inside its UUIDv7 id. */
  const afterTime = (after: string): number => {
    const row = selectOne.get(after);
    if (row !== undefined) return row.dead_lettered_at;
    if (UUID_V7.test(after)) return Number.parseInt(after.slice(0, 8) + after.slice(9, 13), 16);
    throw new TidingsError(
      'TIDINGS_NOT_FOUND',
      `No dead letter "${after}" to resume the listing after; pass the id of the last dead letter of the previous page.`,
      { details: { after } },
    );
  };

  const storage: DeadLetterStorage = {
    list: (query) =>
      promised(() => {
        open();
        checkQuery(query);
        const params: Record<string, unknown> = { limit: query.limit ?? -1 };
        if (query.group !== undefined) params.group = query.group;
        if (query.topic !== undefined) params.topic = query.topic;
        if (query.fingerprint !== undefined) params.fingerprint = query.fingerprint;
        if (query.since !== undefined) params.since = query.since;
        if (query.after !== undefined) {
          params.after = query.after;
          params.afterAt = afterTime(query.after);
        }
        return listStatement(query).all(params).map(toRecord);
      }),
    get: (id) =>
      promised(() => {
        open();
        const row = selectOne.get(id);
        return row === undefined ? undefined : toRecord(row);
      }),
    replay: (id) =>
      promised(() => {
        open();
        const group = replay.immediate(id);
        if (group === undefined) return false;
        context.wake(group);
        return true;
      }),
    discard: (ids) =>
      promised(() => {
        open();
        return discard.immediate(ids);
      }),
    depth: () =>
      promised(() => {
        open();
        return depthQuery.all();
      }),
  };

  return { storage, move: (entry) => move(entry) };
}
