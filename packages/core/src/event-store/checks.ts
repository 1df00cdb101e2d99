import type { Catalog } from '../catalog.ts';
import { deepFreeze, describe, envelopeProblems, type Event } from '../envelope.ts';
import { invalidOptions, isTidingsError, TidingsError } from '../errors.ts';
import type {
  AppendOptions,
  AppendResult,
  ExpectedVersion,
  GlobalPosition,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
} from './types.ts';

/**
 * The checks and rules every event store shares, so that each adapter only maps them onto its storage.
 * Exported from `@tidings/core` for adapters; applications do not need them.
 */

const POSITION_DIGITS = 16;
const POSITION = /^\d{16}$/;

/** The position of sequence number `n`, for stores whose global order is one integer sequence. */
export function formatSequencePosition(n: number): GlobalPosition {
  return String(n).padStart(POSITION_DIGITS, '0');
}

/**
 * The sequence number of a position made by {@link formatSequencePosition}; 0 for "from the start".
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` when `position` is not one.
 */
export function parseSequencePosition(where: string, position: GlobalPosition | undefined): number {
  if (position === undefined || position === '') return 0;
  if (typeof position !== 'string' || !POSITION.test(position)) {
    throw invalidOptions(where, [
      `after must be a position this store returned, such as "0000000000000042" (got ${describe(position)})`,
    ]);
  }
  return Number(position);
}

function streamProblem(stream: unknown): string | undefined {
  return typeof stream === 'string' && stream.length > 0
    ? undefined
    : `stream must be a non-empty string (got ${describe(stream)})`;
}

/** Checks a stream name. @throws TidingsError `TIDINGS_INVALID_OPTIONS`. */
export function checkStream(where: string, stream: unknown): asserts stream is string {
  const problem = streamProblem(stream);
  if (problem !== undefined) throw invalidOptions(where, [problem]);
}

function expectedProblem(expected: unknown): string | undefined {
  if (expected === 'any' || expected === 'no-stream' || expected === 'exists') return undefined;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return undefined;
  return (
    `expectedVersion must be a stream version (an integer >= 0), 'no-stream', 'exists' or 'any' ` +
    `(got ${describe(expected)}); pass the streamVersion your last read or append returned`
  );
}

/** Checks an expected version given outside an append (delete). @throws TidingsError `TIDINGS_INVALID_OPTIONS`. */
export function checkExpectedVersion(where: string, stream: string, expected: unknown): ExpectedVersion {
  const value = expected === undefined ? 'any' : expected;
  const problem = expectedProblem(value);
  if (problem !== undefined) throw invalidOptions(`${where}("${stream}")`, [problem]);
  return value as ExpectedVersion;
}

/**
 * Checks an append's arguments and returns its expected version. Every event must be a valid envelope
 * and ids must not repeat within the batch.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` (stream, options) or `TIDINGS_MALFORMED` (events).
 */
export function checkAppend(
  stream: unknown,
  events: unknown,
  options: AppendOptions | undefined,
): ExpectedVersion {
  const problems: string[] = [];
  const streamIssue = streamProblem(stream);
  if (streamIssue !== undefined) problems.push(streamIssue);
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    problems.push(`options must be an object such as { expectedVersion: 3 } (got ${describe(options)})`);
  }
  // Only a missing expectedVersion means 'any': an explicit null is a bug in the caller, not a choice.
  const expected = options?.expectedVersion === undefined ? 'any' : options.expectedVersion;
  const expectedIssue = expectedProblem(expected);
  if (expectedIssue !== undefined) problems.push(expectedIssue);
  if (!Array.isArray(events) || events.length === 0) {
    problems.push(`events must be a non-empty array of events (got ${describe(events)})`);
  }
  const where = `append("${typeof stream === 'string' ? stream : '?'}")`;
  if (problems.length > 0) throw invalidOptions(where, problems);
  const seen = new Set<string>();
  const malformed: string[] = [];
  for (const [index, event] of (events as unknown[]).entries()) {
    if (typeof event !== 'object' || event === null) {
      malformed.push(`events[${index}] must be an event (got ${describe(event)})`);
      continue;
    }
    const found = envelopeProblems(event);
    if (found.length > 0) malformed.push(`events[${index}]: ${found.join('; ')}`);
    const id = (event as Event).id;
    if (seen.has(id)) malformed.push(`events[${index}] repeats the id ${id}; each event needs its own id`);
    seen.add(id);
  }
  if (malformed.length > 0) {
    throw new TidingsError('TIDINGS_MALFORMED', `${where}: ${malformed.join(' ')}`, {
      details: { stream, problems: malformed },
    });
  }
  return expected;
}

/** True when a stream at `actual` does not satisfy `expected`. */
export function isVersionConflict(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return false;
  if (expected === 'exists') return actual === 0;
  return actual !== (expected === 'no-stream' ? 0 : expected);
}

/** Where an already-stored event sits, as a store looks it up by id for an idempotent retry. */
export interface LocatedEvent {
  readonly streamVersion: number;
  readonly position: GlobalPosition;
}

/**
 * Decides what an append whose ids may already be stored means. `located[i]` is where the stream
 * holds the id of the i-th event, if anywhere. Returns `undefined` when none is stored (a fresh
 * append), the original result when all are stored consecutively at the expected place (a retry), and
 * `'conflict'` otherwise.
 */
export function retriedAppend(
  expected: ExpectedVersion,
  located: readonly (LocatedEvent | undefined)[],
): AppendResult | 'conflict' | undefined {
  if (located.every((at) => at === undefined)) return undefined;
  const first = located[0];
  if (first === undefined) return 'conflict';
  const consecutive = located.every(
    (at, i) => at !== undefined && at.streamVersion === first.streamVersion + i,
  );
  if (!consecutive) return 'conflict';
  const place = expected === 'no-stream' ? 0 : typeof expected === 'number' ? expected : undefined;
  if (place !== undefined && first.streamVersion !== place + 1) return 'conflict';
  const last = located[located.length - 1] as LocatedEvent;
  return { streamVersion: last.streamVersion, position: last.position };
}

/** The error for an append to a tombstoned stream. */
export function tombstonedError(stream: string, version: number): TidingsError {
  return new TidingsError(
    'TIDINGS_STREAM_DELETED',
    `Stream "${stream}" was deleted for good (tombstoned at version ${version}); it can never be appended ` +
      'to again. Write to a new stream name.',
    { details: { stream, version, tombstoned: true } },
  );
}

/** The error every call to a closed store throws. */
export function closedStoreError(what: string): TidingsError {
  return new TidingsError('TIDINGS_CLOSED', `${what} is closed; create a new store to keep working.`);
}

/** A `readStream` call with every default filled in. */
export interface ResolvedStreamRead {
  readonly direction: 'forward' | 'backward';
  /** The lowest (forward) or highest (backward) version asked for; undefined for the default. */
  readonly from: number | undefined;
  /** At most this many events; `Infinity` for all. */
  readonly limit: number;
  /** The highest version `until` allows; `Infinity` when not cut by version. */
  readonly untilVersion: number;
  /** The latest recording time `until` allows, in ms; `Infinity` when not cut by time. */
  readonly untilTime: number;
}

/** Reads a time given as a `Date`, RFC 3339 text or epoch milliseconds; `undefined` if it is none. */
export function toEpochMs(time: unknown): number | undefined {
  const ms =
    time instanceof Date
      ? time.getTime()
      : typeof time === 'number'
        ? time
        : typeof time === 'string'
          ? Date.parse(time)
          : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

const isVersion = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/**
 * Checks `readStream`'s options and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveReadStream(
  stream: unknown,
  options: ReadStreamOptions | undefined,
): ResolvedStreamRead {
  const problems: string[] = [];
  const streamIssue = streamProblem(stream);
  if (streamIssue !== undefined) problems.push(streamIssue);
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null)
    problems.push(`options must be an object (got ${describe(options)})`);
  const direction = o.direction ?? 'forward';
  if (direction !== 'forward' && direction !== 'backward') {
    problems.push(`direction must be 'forward' or 'backward' (got ${describe(direction)})`);
  }
  if (o.from !== undefined && !isVersion(o.from, 0)) {
    problems.push(`from must be a stream version, an integer >= 0 (got ${describe(o.from)})`);
  }
  if (o.limit !== undefined && !isVersion(o.limit, 0)) {
    problems.push(`limit must be an integer >= 0 (got ${describe(o.limit)})`);
  }
  let untilVersion = Number.POSITIVE_INFINITY;
  let untilTime = Number.POSITIVE_INFINITY;
  const until = o.until as Record<string, unknown> | undefined;
  if (until !== undefined) {
    if (typeof until === 'object' && until !== null && 'version' in until && isVersion(until.version, 0)) {
      untilVersion = until.version;
    } else if (
      typeof until === 'object' &&
      until !== null &&
      'time' in until &&
      toEpochMs(until.time) !== undefined
    ) {
      untilTime = toEpochMs(until.time) as number;
    } else {
      problems.push(
        'until must be { version: n } (an integer >= 0) or { time } (a Date, RFC 3339 text or epoch ms) ' +
          `(got ${until === null || typeof until !== 'object' ? describe(until) : JSON.stringify(until)})`,
      );
    }
  }
  if (problems.length > 0) {
    throw invalidOptions(`readStream(${typeof stream === 'string' ? `"${stream}"` : '?'})`, problems);
  }
  return {
    direction: direction as 'forward' | 'backward',
    from: o.from as number | undefined,
    limit: (o.limit as number | undefined) ?? Number.POSITIVE_INFINITY,
    untilVersion,
    untilTime,
  };
}

/** The default page size of `readAll`. */
export const READ_ALL_LIMIT = 1_000;

/** Checks `readAll`'s options (all but `after`, whose form is the store's) and fills in the defaults. */
export function resolveReadAll(options: ReadAllOptions | undefined): {
  limit: number;
  types: readonly string[] | undefined;
} {
  const problems: string[] = [];
  const o = (options ?? {}) as Record<string, unknown>;
  if (o.limit !== undefined && !isVersion(o.limit, 1)) {
    problems.push(`limit must be an integer >= 1 (got ${describe(o.limit)})`);
  }
  const types = o.types;
  if (
    types !== undefined &&
    (!Array.isArray(types) || types.some((type) => typeof type !== 'string' || type.length === 0))
  ) {
    problems.push(`types must be an array of event type names (got ${describe(types)})`);
  }
  if (problems.length > 0) throw invalidOptions('readAll', problems);
  return {
    limit: (o.limit as number | undefined) ?? READ_ALL_LIMIT,
    types: types as readonly string[] | undefined,
  };
}

/** Where a stored event sits, for errors about it. */
export interface StoredAt {
  readonly stream: string;
  readonly streamVersion: number;
  readonly position: GlobalPosition;
  readonly type?: string | undefined;
}

/**
 * The error for a stored event that cannot be read: the cause's code (`TIDINGS_MALFORMED` for a
 * corrupt row), with the stream, version and position in the message and details.
 */
export function unreadableEvent(at: StoredAt, cause: unknown): TidingsError {
  const code = isTidingsError(cause) ? cause.code : 'TIDINGS_MALFORMED';
  const reason = cause instanceof Error ? cause.message : String(cause);
  const type = at.type === undefined ? '' : ` (${at.type})`;
  return new TidingsError(
    code,
    `Cannot read event ${at.streamVersion} of stream "${at.stream}" at position ${at.position}${type}: ${reason}`,
    {
      cause,
      details: { stream: at.stream, streamVersion: at.streamVersion, position: at.position, type: at.type },
    },
  );
}

/**
 * What a store hands out for a stored event: upcast to its latest version through the catalog when the
 * store has one, deeply frozen either way (events are facts).
 */
export function readRecorded(catalog: Catalog | undefined, event: RecordedEvent): RecordedEvent {
  return catalog === undefined ? deepFreeze(event) : upcastRecorded(catalog, event);
}

/** Upcasts a recorded event through the catalog, or throws {@link unreadableEvent}. */
export function upcastRecorded(catalog: Catalog, event: RecordedEvent): RecordedEvent {
  try {
    return catalog.upgrade(event) as RecordedEvent;
  } catch (error) {
    throw unreadableEvent(event, error);
  }
}

/**
 * The stored columns of an event, in the order the SQL stores write them: id, type, schema version,
 * source, time, subject, correlation id, causation id, extensions (JSON or null) and data (JSON).
 */
export function eventColumnValues(event: Event): unknown[] {
  return [
    event.id,
    event.type,
    event.version,
    event.source,
    event.time,
    event.subject ?? null,
    event.correlationId,
    event.causationId ?? null,
    event.extensions === undefined ? null : JSON.stringify(event.extensions),
    JSON.stringify(event.data === undefined ? null : event.data),
  ];
}
