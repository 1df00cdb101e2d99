import {
  eventColumnValues,
  describeValue,
  type Event,
  invalidOptions,
  type RecordedEvent,
  unreadableEvent,
} from '@tidings/core';

/**
 * Positions, rows and values of the PostgreSQL event store. A position is the writing transaction's
 * id and the row's sequence number, each zero-padded to 20 digits (a 64-bit number has at most 20),
 * joined by a dash: `00000000000000012345-00000000000000000042`. Fixed width, so string order is
 * (transaction, sequence) order, the store's global order.
 */

const DIGITS = 20;
const POSITION = /^(\d{20})-(\d{20})$/;

/** The position before every event: where a reader with no checkpoint starts. @internal */
export const START_POSITION = `${'0'.repeat(DIGITS)}-${'0'.repeat(DIGITS)}`;

/** The position of the row written by transaction `transactionId` with sequence `id` (both decimal text). @internal */
export function formatPosition(transactionId: string, id: string): string {
  return `${transactionId.padStart(DIGITS, '0')}-${id.padStart(DIGITS, '0')}`;
}

/**
 * The transaction id and sequence of a position, as decimal text for SQL parameters; zeros for "from
 * the start".
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` when `position` is not one this store returned.
 * @internal
 */
export function parsePosition(where: string, position: unknown): [transactionId: string, id: string] {
  if (position === undefined || position === '') return ['0', '0'];
  const match = typeof position === 'string' ? POSITION.exec(position) : null;
  if (match === null) {
    throw invalidOptions(where, [
      `after must be a position this store returned, such as "${formatPosition('731', '42')}" ` +
        `(got ${describeValue(position)})`,
    ]);
  }
  return [BigInt(match[1] as string).toString(), BigInt(match[2] as string).toString()];
}

/** The columns every event read selects, named as {@link EventRow} expects them. @internal */
export const EVENT_COLUMNS =
  'e.transaction_id::text AS tx, e.id::text AS seq, e.stream, e.version::integer AS version, e.event_id, ' +
  'e.type, e.schema_version, e.recorded_at::text AS recorded_at, e.source, e.time, e.subject, ' +
  'e.correlation_id, e.causation_id, e.extensions, e.data';

/** A row of {@link EVENT_COLUMNS}, as pg returns it. @internal */
export interface EventRow {
  readonly tx: string;
  readonly seq: string;
  readonly stream: string;
  readonly version: number;
  readonly event_id: unknown;
  readonly type: unknown;
  readonly schema_version: unknown;
  readonly recorded_at: unknown;
  readonly source: unknown;
  readonly time: unknown;
  readonly subject: unknown;
  readonly correlation_id: unknown;
  readonly causation_id: unknown;
  readonly extensions: unknown;
  readonly data: unknown;
}

/** The number of columns {@link eventColumns} fills per event. @internal */
export const EVENT_VALUE_COUNT = 10;

/**
 * The values of a batch of events, one array per column, for an insert through `unnest`: one
 * statement, whatever the batch size. @internal
 */
export function eventColumns(events: readonly Event[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: EVENT_VALUE_COUNT }, () => []);
  for (const event of events) {
    const values = eventColumnValues(event);
    for (const [i, value] of values.entries()) (columns[i] as unknown[]).push(value);
  }
  return columns;
}

/** Where a row sits, for the error about a damaged one (built only then, not for every row). */
function atOf(row: EventRow, position: string) {
  const { stream, version: streamVersion, type } = row;
  return { stream, streamVersion, position, type: typeof type === 'string' ? type : undefined };
}

/**
 * Makes a function that turns rows into recorded events. A row damaged by hand (data that is not JSON,
 * a missing value) throws `TIDINGS_MALFORMED` naming its stream, version and position: replay must
 * never skip an event silently. @internal
 */
export function createRowReader(): (row: EventRow) => RecordedEvent {
  // The events of one append share their recording time: format it once.
  let lastMs = '';
  let lastIso = '';
  return (row) => {
    const position = formatPosition(row.tx, row.seq);
    const { stream, version: streamVersion, type } = row;
    if (
      typeof type !== 'string' ||
      typeof row.event_id !== 'string' ||
      typeof row.schema_version !== 'number' ||
      typeof row.recorded_at !== 'string' ||
      typeof row.source !== 'string' ||
      typeof row.time !== 'string' ||
      typeof row.correlation_id !== 'string' ||
      typeof row.data !== 'string'
    ) {
      throw unreadableEvent(
        atOf(row, position),
        new Error('the row is damaged: a required column is missing or of the wrong type'),
      );
    }
    let data: unknown;
    let extensions: unknown;
    try {
      data = JSON.parse(row.data);
      extensions = typeof row.extensions === 'string' ? JSON.parse(row.extensions) : undefined;
    } catch (error) {
      throw unreadableEvent(
        atOf(row, position),
        new Error(`the row is damaged: ${(error as Error).message}`),
      );
    }
    if (row.recorded_at !== lastMs) {
      lastMs = row.recorded_at;
      lastIso = new Date(Number(row.recorded_at)).toISOString();
    }
    const event: Record<string, unknown> = {
      id: row.event_id,
      type,
      version: row.schema_version,
      source: row.source,
      time: row.time,
      correlationId: row.correlation_id,
      data,
      stream,
      streamVersion,
      position,
      recordedAt: lastIso,
    };
    if (row.subject !== null) event.subject = row.subject;
    if (row.causation_id !== null) event.causationId = row.causation_id;
    if (extensions !== undefined) event.extensions = extensions;
    return event as unknown as RecordedEvent;
  };
}
