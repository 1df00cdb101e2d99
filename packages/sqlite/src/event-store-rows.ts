import { formatSequencePosition, type RecordedEvent, unreadableEvent } from '@tidings/core';

/** The columns every event read selects, in the order {@link createRowReader} expects them. @internal */
export const EVENT_COLUMNS =
  'position, stream, version, id, type, schema_version, recorded_at, source, time, subject, ' +
  'correlation_id, causation_id, extensions, data';

/** A row of {@link EVENT_COLUMNS}, as better-sqlite3 returns it in raw mode. @internal */
export type EventRow = readonly unknown[];

/** Where a row sits, for the error about a damaged one (built only then, not for every row). */
function atOf(row: EventRow) {
  return {
    stream: row[1] as string,
    streamVersion: row[2] as number,
    position: formatSequencePosition(row[0] as number),
    type: typeof row[4] === 'string' ? row[4] : undefined,
  };
}

/**
 * Makes a function that turns raw rows into recorded events. A row damaged by hand (not valid JSON, a
 * missing column value) throws a `TIDINGS_MALFORMED` error naming its stream, version and position:
 * replay must never skip an event silently.
 *
 * @internal
 */
export function createRowReader(): (row: EventRow) => RecordedEvent {
  // The events of one append share their recording time: format it once.
  let lastMs = Number.NaN;
  let lastIso = '';
  return (row) => {
    const position = row[0] as number;
    const stream = row[1] as string;
    const streamVersion = row[2] as number;
    const type = row[4];
    const recordedMs = row[6];
    const version = row[5];
    if (
      typeof type !== 'string' ||
      typeof row[3] !== 'string' ||
      typeof version !== 'number' ||
      typeof recordedMs !== 'number' ||
      typeof row[7] !== 'string' ||
      typeof row[8] !== 'string' ||
      typeof row[10] !== 'string' ||
      typeof row[13] !== 'string'
    ) {
      throw unreadableEvent(
        atOf(row),
        new Error('the row is damaged: a required column is missing or of the wrong type'),
      );
    }
    let data: unknown;
    let extensions: unknown;
    try {
      data = JSON.parse(row[13]);
      extensions = row[12] === null ? undefined : JSON.parse(row[12] as string);
    } catch (error) {
      throw unreadableEvent(atOf(row), new Error(`the row is damaged: ${(error as Error).message}`));
    }
    if (recordedMs !== lastMs) {
      lastMs = recordedMs;
      lastIso = new Date(recordedMs).toISOString();
    }
    const event: Record<string, unknown> = {
      id: row[3],
      type,
      version,
      source: row[7],
      time: row[8],
      correlationId: row[10],
      data,
      stream,
      streamVersion,
      position: formatSequencePosition(position),
      recordedAt: lastIso,
    };
    if (row[9] !== null) event.subject = row[9];
    if (row[11] !== null) event.causationId = row[11];
    if (extensions !== undefined) event.extensions = extensions;
    return event as unknown as RecordedEvent;
  };
}
