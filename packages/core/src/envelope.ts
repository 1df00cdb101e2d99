import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { currentCause } from './context.ts';
import { TidingsError } from './errors.ts';

/**
 * An event: an immutable, versioned record of something that already happened.
 *
 * Each field maps onto a CloudEvents 1.0 attribute (named in brackets): `id` [id], `type` [type],
 * `version` [dataversion], `source` [source], `time` [time], `subject` [subject], `correlationId`
 * [correlationid], `causationId` [causationid], `data` [data], and `extensions` for any other
 * string attribute such as `traceparent`.
 */
export interface Event<TType extends string = string, TData = unknown> {
  /** Unique id (UUIDv7 by default); consumers deduplicate on `source` + `id`. */
  readonly id: string;
  /** What happened, as a past-tense PascalCase name: `OrderPlaced`. */
  readonly type: TType;
  /** The schema version of `data`, an integer from 1. */
  readonly version: number;
  /** The component that produced the event, as a URI reference. */
  readonly source: string;
  /** When it happened, RFC 3339 in UTC. */
  readonly time: string;
  /** The entity the event is about; also the ordering key. */
  readonly subject?: string;
  /** Shared by every event of one chain; a root event uses its own id. */
  readonly correlationId: string;
  /** The id of the event whose handling created this one. */
  readonly causationId?: string;
  /** The payload, shaped by the event's schema. */
  readonly data: TData;
  /** Other CloudEvents attributes, as strings (e.g. `traceparent`). */
  readonly extensions?: Readonly<Record<string, string>>;
}

/** Attributes a caller may set when creating an event; everything else gets a sensible default. */
export interface EventInit {
  id?: string | undefined;
  source?: string | undefined;
  /** A `Date`, or an RFC 3339 string. */
  time?: Date | string | undefined;
  subject?: string | undefined;
  correlationId?: string | undefined;
  causationId?: string | undefined;
  extensions?: Readonly<Record<string, string>> | undefined;
}

/** The default `source` of events created without one. */
export const DEFAULT_SOURCE = 'urn:tidings:app';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** CloudEvents context attributes that an extension may not shadow. @internal */
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'specversion',
  'id',
  'type',
  'source',
  'subject',
  'time',
  'datacontenttype',
  'data',
  'data_base64',
  'dataversion',
  'correlationid',
  'causationid',
]);

// uuid's own random source asks WebCrypto for 16 bytes per id, which costs microseconds on Node 20;
// drawing them from a pool refilled in bulk makes ids cheap. The millisecond and counter below keep
// ids created in the same millisecond in creation order, as uuid does when it picks them itself.
const pool = new Uint8Array(16 * 512);
let poolOffset = pool.length;
let lastMs = Number.NEGATIVE_INFINITY;
let sequence = 0;

function randomBytes(): Uint8Array {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += 16;
  return pool.subarray(poolOffset - 16, poolOffset);
}

/** A new UUIDv7: unique, and sortable by creation time. */
export function newEventId(): string {
  const random = randomBytes();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // 31 random bits start each millisecond's counter, leaving room to count up without overflow.
    sequence =
      ((random[6] ?? 0) << 23) |
      ((random[7] ?? 0) << 15) |
      ((random[8] ?? 0) << 7) |
      ((random[9] ?? 0) >>> 1);
  } else {
    sequence = (sequence + 1) | 0;
    if (sequence === 0) lastMs += 1;
  }
  return uuidv7({ msecs: lastMs, seq: sequence, random });
}

// The last time string found valid: events created in one millisecond share it, and checking it costs
// a pattern and a Date.parse per event.
let lastValidTime = '';

const isText = (value: unknown): boolean => typeof value === 'string' && value.length > 0;
const isOptionalText = (value: unknown): boolean => value === undefined || isText(value);

/**
 * True when {@link envelopeProblems} would find nothing: the same checks, without building a single
 * string on the way, for the paths that read every delivered event.
 * @internal
 */
export function envelopeIsValid(event: Partial<Record<keyof Event, unknown>>): boolean {
  const { time, version, extensions } = event;
  if (
    !isText(event.id) ||
    !isText(event.type) ||
    !isText(event.source) ||
    !isText(event.correlationId) ||
    !isOptionalText(event.subject) ||
    !isOptionalText(event.causationId) ||
    typeof version !== 'number' ||
    !Number.isInteger(version) ||
    version < 1 ||
    typeof time !== 'string'
  ) {
    return false;
  }
  if (time !== lastValidTime) {
    if (!RFC3339.test(time) || Number.isNaN(Date.parse(time))) return false;
    lastValidTime = time;
  }
  if (!dataIsSafe(event.data, 0)) return false;
  if (extensions !== undefined) {
    if (typeof extensions !== 'object' || extensions === null) return false;
    for (const [name, value] of Object.entries(extensions)) {
      if (!EXTENSION_NAME.test(name) || RESERVED_ATTRIBUTES.has(name) || typeof value !== 'string')
        return false;
    }
  }
  return true;
}

// dataProblem's verdict without the paths it builds for its messages.
function dataIsSafe(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!dataIsSafe(item, depth + 1)) return false;
    return true;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (key === '__proto__') return false;
    if (!dataIsSafe((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** Returns the problems with an event's envelope attributes (not its data), as readable sentences. @internal */
export function envelopeProblems(event: Partial<Record<keyof Event, unknown>>): string[] {
  const problems: string[] = [];
  const text = (name: keyof Event, optional: boolean): void => {
    const value = event[name];
    if (value === undefined && optional) return;
    if (typeof value !== 'string' || value.length === 0) {
      problems.push(`${name} must be a non-empty string (got ${describe(value)})`);
    }
  };
  text('id', false);
  text('type', false);
  text('source', false);
  text('correlationId', false);
  text('subject', true);
  text('causationId', true);
  if (typeof event.time !== 'string' || !RFC3339.test(event.time) || Number.isNaN(Date.parse(event.time))) {
    problems.push(
      `time must be an RFC 3339 timestamp such as 2026-01-31T12:00:00.000Z (got ${describe(event.time)})`,
    );
  }
  if (typeof event.version !== 'number' || !Number.isInteger(event.version) || event.version < 1) {
    problems.push(`version must be an integer of 1 or more (got ${describe(event.version)})`);
  }
  dataProblem(event.data, 'data', 0, problems);
  if (event.extensions !== undefined) {
    if (typeof event.extensions !== 'object' || event.extensions === null) {
      problems.push('extensions must be an object of string values');
    } else {
      for (const [name, value] of Object.entries(event.extensions)) {
        if (!EXTENSION_NAME.test(name)) {
          problems.push(`extension "${name}" must be 1-20 lowercase letters or digits (CloudEvents naming)`);
        } else if (RESERVED_ATTRIBUTES.has(name)) {
          problems.push(
            `extension "${name}" shadows a CloudEvents or Tidings attribute; choose another name`,
          );
        } else if (typeof value !== 'string') {
          problems.push(`extension "${name}" must be a string (got ${describe(value)})`);
        }
      }
    }
  }
  return problems;
}

const MAX_DEPTH = 64;

// Refuses keys that would rewrite a prototype when the data is later merged with Object.assign, and
// nesting deep enough to exhaust the stack of whoever walks it next.
function dataProblem(value: unknown, path: string, depth: number, problems: string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth > MAX_DEPTH) {
    problems.push(`${path} is nested more than ${MAX_DEPTH} levels deep`);
    return true;
  }
  if (Array.isArray(value)) {
    return value.some((item, index) => dataProblem(item, `${path}[${index}]`, depth + 1, problems));
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') {
      problems.push(`${path}.__proto__ is not allowed: it could pollute prototypes`);
      return true;
    }
    if (dataProblem((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, problems))
      return true;
  }
  return false;
}

/** A short, safe description of a value for error messages. @internal */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return value.length > 40 ? `"${value.slice(0, 40)}…"` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Freezes a JSON-like value and everything inside it. @internal */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    // for...in allocates no array of keys; JSON-like values have no inherited enumerable keys.
    for (const key in value) {
      const child = (value as Record<string, unknown>)[key];
      // Only objects need the call: most fields of an event are strings and numbers.
      if (typeof child === 'object' && child !== null) deepFreeze(child);
    }
  }
  return value;
}

/**
 * Builds a frozen event from its parts, filling in id, time, source and the correlation of the event
 * being handled. It does not validate `data`: use an event definition's `create` for that.
 *
 * @throws TidingsError `TIDINGS_MALFORMED` when an attribute is invalid.
 */
export function createEvent<TType extends string, TData>(
  type: TType,
  version: number,
  data: TData,
  init: EventInit = {},
): Event<TType, TData> {
  const id = init.id ?? newEventId();
  const cause = init.correlationId === undefined ? currentCause() : undefined;
  const time =
    init.time === undefined
      ? new Date().toISOString()
      : init.time instanceof Date
        ? init.time.toISOString()
        : init.time;
  const event: { -readonly [K in keyof Event<TType, TData>]: Event<TType, TData>[K] } = {
    id,
    type,
    version,
    source: init.source ?? DEFAULT_SOURCE,
    time,
    correlationId: init.correlationId ?? cause?.correlationId ?? id,
    data,
  };
  if (init.subject !== undefined) event.subject = init.subject;
  const causationId = init.causationId ?? cause?.causationId;
  if (causationId !== undefined) event.causationId = causationId;
  if (init.extensions !== undefined && Object.keys(init.extensions).length > 0)
    event.extensions = { ...init.extensions };
  if (!envelopeIsValid(event)) {
    const problems = envelopeProblems(event);
    throw new TidingsError('TIDINGS_MALFORMED', `Cannot create ${String(type)}: ${problems.join('; ')}.`, {
      details: { problems },
    });
  }
  return deepFreeze(event);
}
