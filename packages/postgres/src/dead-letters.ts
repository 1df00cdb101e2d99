import type { Pool } from 'pg';
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
import { encodeHeaders, rowToMessage } from '@tidings/core';
import { asUnavailable } from './errors.ts';

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
  first_failed_at: string;
  last_failed_at: string;
  fingerprint: string;
  reason: string;
  dead_lettered_at: string;
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
  /** Deletes the delivery and stores the dead letter in one statement; false when the lease was lost. */
  move(move: DeadLetterMove): Promise<boolean>;
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
    firstFailedAt: Number(row.first_failed_at),
    lastFailedAt: Number(row.last_failed_at),
    fingerprint: row.fingerprint,
    reason: (REASONS.has(row.reason) ? row.reason : 'invalid') as FailureRecord['reason'],
    deadLetteredAt: Number(row.dead_lettered_at),
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
 * Dead letters kept in the transport's schema. Each holds its own copy of the message, so replay works
 * long after the original row was cleaned up; ids are UUIDv7 of the dead-lettering time, so a listing
 * cursor stays valid even when the dead letter it names was discarded meanwhile.
 *
 * @internal
 */
export function createDeadLetters(context: {
  readonly pool: Pool;
  /** The quoted schema. */
  readonly schema: string;
  readonly notifyChannel: string;
  readonly clock: Clock;
  readonly closed: () => boolean;
  /** Called after a replay commits, so this transport's consumers of the group look at once. */
  readonly wake: (group: string) => void;
}): DeadLetters {
  const { pool, schema: s, clock } = context;

  const moveSql = `
    WITH gone AS (
      DELETE FROM ${s}.deliveries WHERE seq = $1 AND group_name = $2 AND lease_token = $3 RETURNING seq
    )
    INSERT INTO ${s}.dead_letters (id, channel, group_name, seq, message_id, topic, key, headers, handler, error,
      attempts, first_failed_at, last_failed_at, fingerprint, reason, dead_lettered_at, body)
    SELECT $4, $5, $2, gone.seq, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18 FROM gone`;

  // Replay is a new publish to one group: a new message row, whatever became of the old one.
  const replaySql = `
    WITH dl AS (
      DELETE FROM ${s}.dead_letters WHERE id = $1 RETURNING *
    ), m AS (
      INSERT INTO ${s}.messages (id, channel, topic, key, published_at, headers, body)
      SELECT message_id, channel, topic, key, $2, headers, body FROM dl
      RETURNING seq, channel, topic, key
    ), d AS (
      INSERT INTO ${s}.deliveries (seq, group_name, channel, topic, key, available_at)
      SELECT m.seq, dl.group_name, m.channel, m.topic,
             CASE WHEN coalesce(sub.ordered, false) THEN m.key END, $2
      FROM m CROSS JOIN dl
      LEFT JOIN ${s}.subscriptions sub
        ON sub.channel = m.channel AND sub.topic = m.topic AND sub.group_name = dl.group_name
      RETURNING group_name, channel
    )
    SELECT group_name, pg_notify($3, channel) FROM d`;

  const open = (): void => {
    if (context.closed()) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        'The postgres transport is closed; open a new one to manage dead letters.',
      );
    }
  };

  const getRow = async (id: string): Promise<DeadLetterRow | undefined> =>
    (await pool.query<DeadLetterRow>(`SELECT * FROM ${s}.dead_letters WHERE id = $1`, [id])).rows[0];

  /** Where a listing resumes: the time of the `after` dead letter, or the time inside its UUIDv7 id. */
  const afterTime = async (after: string): Promise<number> => {
    const row = await getRow(after);
    if (row !== undefined) return Number(row.dead_lettered_at);
    if (UUID_V7.test(after)) return Number.parseInt(after.slice(0, 8) + after.slice(9, 13), 16);
    throw new TidingsError(
      'TIDINGS_NOT_FOUND',
      `No dead letter "${after}" to resume the listing after; pass the id of the last dead letter of the previous page.`,
      { details: { after } },
    );
  };

  const storage: DeadLetterStorage = {
    async list(query) {
      open();
      checkQuery(query);
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (value: unknown): string => {
        params.push(value);
        return `$${params.length}`;
      };
      if (query.group !== undefined) where.push(`group_name = ${param(query.group)}`);
      if (query.topic !== undefined) where.push(`topic = ${param(query.topic)}`);
      if (query.fingerprint !== undefined) where.push(`fingerprint = ${param(query.fingerprint)}`);
      if (query.since !== undefined) where.push(`dead_lettered_at >= ${param(query.since)}`);
      if (query.after !== undefined) {
        const at = param(await afterTime(query.after));
        const id = param(query.after);
        where.push(`(dead_lettered_at > ${at} OR (dead_lettered_at = ${at} AND id > ${id}))`);
      }
      const limit = query.limit === undefined ? '' : ` LIMIT ${param(query.limit)}`;
      const sql =
        `SELECT * FROM ${s}.dead_letters ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ` +
        `ORDER BY dead_lettered_at, id COLLATE "C"${limit}`;
      return (await pool.query<DeadLetterRow>(sql, params)).rows.map(toRecord);
    },
    async get(id) {
      open();
      const row = await getRow(id);
      return row === undefined ? undefined : toRecord(row);
    },
    async replay(id) {
      open();
      const result = await pool.query<{ group_name: string }>(replaySql, [
        id,
        clock.now(),
        context.notifyChannel,
      ]);
      const group = result.rows[0]?.group_name;
      if (group === undefined) return false;
      context.wake(group);
      return true;
    },
    async discard(ids) {
      open();
      const result = await pool.query(`DELETE FROM ${s}.dead_letters WHERE id = ANY($1::text[])`, [
        [...new Set(ids)],
      ]);
      return result.rowCount ?? 0;
    },
    async depth() {
      open();
      const result = await pool.query<{ group: string; count: string; oldest_at: string }>(
        `SELECT group_name AS "group", count(*) AS count, min(dead_lettered_at) AS oldest_at
         FROM ${s}.dead_letters GROUP BY group_name ORDER BY group_name COLLATE "C"`,
      );
      return result.rows.map((row) => ({
        group: row.group,
        count: Number(row.count),
        oldestAt: Number(row.oldest_at),
      }));
    },
  };

  const move = async (entry: DeadLetterMove): Promise<boolean> => {
    const { message, failure } = entry;
    const now = clock.now();
    const result = await pool.query(moveSql, [
      entry.seq,
      entry.group,
      entry.leaseToken,
      uuidv7({ msecs: now }),
      entry.channel,
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
      Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
    ]);
    return (result.rowCount ?? 0) > 0;
  };

  return { storage: reportingUnavailable(storage), move };
}

/** The storage with a lost or refused connection reported as `TIDINGS_UNAVAILABLE`. */
function reportingUnavailable(storage: DeadLetterStorage): DeadLetterStorage {
  const guard =
    <A extends unknown[], R>(what: string, work: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await work(...args);
      } catch (error) {
        throw asUnavailable(error, what);
      }
    };
  return {
    list: guard('list dead letters', (query: DeadLetterQuery) => storage.list(query)),
    get: guard('get a dead letter', (id: string) => storage.get(id)),
    replay: guard('replay a dead letter', (id: string) => storage.replay(id)),
    discard: guard('discard dead letters', (ids: readonly string[]) => storage.discard(ids)),
    depth: guard('count dead letters', () => storage.depth()),
  };
}
