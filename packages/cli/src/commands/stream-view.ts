import type { ListedStream, RecordedEvent, StreamBound } from '@tidings/core';
import { InvalidArgumentError } from 'commander';
import type { Colors } from '../io.ts';
import { formatAge, parseSince } from '../time.ts';

const VERSION = /^v?(\d+)$/i;

/**
 * Reads an `--as-of` value: a stream version (`12` or `v12`), or a time: an ISO 8601 date or time, or a
 * duration back from `now` (`15m`, `1h`, `2d`).
 *
 * @throws InvalidArgumentError (commander reports it as a usage error, exit 2) for anything else.
 *
 * @example
 * parseAsOf('v12'); // { version: 12 }
 * parseAsOf('1h', Date.now()); // { time: an hour ago, in ms }
 */
export function parseAsOf(text: string, now: number = Date.now()): StreamBound {
  const version = VERSION.exec(text.trim());
  if (version !== null) {
    const value = Number(version[1]);
    if (Number.isSafeInteger(value)) return { version: value };
  }
  try {
    return { time: parseSince(text, now) };
  } catch {
    throw new InvalidArgumentError(
      'Pass a stream version (12 or v12), an ISO date/time (2025-11-26T10:00:00Z) or a duration back ' +
        'from now (30s, 15m, 1h, 2d, 1w).',
    );
  }
}

/** An `--as-of` bound in words, for the header of a read. */
export function describeBound(bound: StreamBound): string {
  return 'version' in bound ? `version ${bound.version}` : new Date(bound.time).toISOString();
}

/** A stream's state in a few words: what reads hide, or that it is deleted; '' for a plain stream. */
export function streamState(stream: ListedStream): string {
  if (stream.tombstoned) return 'tombstoned';
  if (stream.deleted) return 'deleted';
  return stream.truncateBefore > 1 ? `truncated before ${stream.truncateBefore}` : '';
}

/** The lines above a read's events: the stream's metadata, aligned as `name  value`. */
export function describeStream(
  stream: ListedStream,
  asOf: StreamBound | undefined,
  colors: Colors,
  now: number,
): string[] {
  const recorded =
    stream.lastRecordedAt === undefined
      ? 'never'
      : `${stream.lastRecordedAt} (${formatAge(now - Date.parse(stream.lastRecordedAt))} ago)`;
  const fields: [string, string][] = [
    ['stream', stream.stream],
    ['version', String(stream.version)],
    ['last recorded', recorded],
  ];
  const state = streamState(stream);
  if (stream.tombstoned) fields.push(['state', 'tombstoned: deleted for good, no append can reopen it']);
  else if (stream.deleted) fields.push(['state', 'deleted: every event is hidden until the next append']);
  else if (state !== '') fields.push(['state', `${state}: older versions are hidden from reads`]);
  if (asOf !== undefined) fields.push(['as of', describeBound(asOf)]);
  const width = Math.max(...fields.map(([name]) => name.length));
  return fields.map(([name, value]) => `${colors.bold(name.padEnd(width))}  ${value}`);
}

const DATA_WIDTH = 120;

/** An event's data as one line of JSON, cut to fit a terminal row. */
export function compactData(data: unknown): string {
  const text = JSON.stringify(data) ?? 'undefined';
  return text.length > DATA_WIDTH ? `${text.slice(0, DATA_WIDTH - 1)}…` : text;
}

/** One row of the events table: version, type (with its schema version), recorded at, position, data. */
export function eventRow(event: RecordedEvent): string[] {
  return [
    String(event.streamVersion),
    `${event.type} v${event.version}`,
    event.recordedAt,
    event.position,
    compactData(event.data),
  ];
}

/** The column titles of {@link eventRow}. */
export const EVENT_COLUMNS = ['VERSION', 'TYPE', 'RECORDED', 'POSITION', 'DATA'] as const;
