import {
  deepFreeze,
  describe,
  type Event,
  envelopeIsValid,
  envelopeProblems,
  RESERVED_ATTRIBUTES,
} from './envelope.ts';
import { TidingsError } from './errors.ts';

/** A CloudEvents 1.0 event in structured JSON form, as Tidings writes it. */
export interface CloudEventJson {
  specversion: '1.0';
  id: string;
  type: string;
  source: string;
  time: string;
  datacontenttype: 'application/json';
  dataversion: number;
  correlationid: string;
  subject?: string;
  causationid?: string;
  data: unknown;
  [extension: string]: unknown;
}

/** A CloudEvent in binary mode: attributes as `ce-` headers, the data as the body. */
export interface BinaryCloudEvent {
  headers: Record<string, string>;
  body: string;
}

/** Headers as node's `IncomingHttpHeaders`, a fetch `Headers`, or a plain map. */
export type HeadersInput = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

const JSON_CONTENT = /^(application|text)\/([a-z0-9.+-]*\+)?json\b/i;

/**
 * Maps an event to a CloudEvents 1.0 structured-mode object (serialise it with `JSON.stringify`).
 *
 * @example
 * const body = JSON.stringify(toCloudEvent(event)); // Content-Type: application/cloudevents+json
 */
export function toCloudEvent(event: Event): CloudEventJson {
  const out: CloudEventJson = {
    ...event.extensions,
    specversion: '1.0',
    id: event.id,
    type: event.type,
    source: event.source,
    time: event.time,
    datacontenttype: 'application/json',
    dataversion: event.version,
    correlationid: event.correlationId,
    data: event.data,
  };
  if (event.subject !== undefined) out.subject = event.subject;
  if (event.causationId !== undefined) out.causationid = event.causationId;
  return out;
}

/**
 * Maps an event to CloudEvents HTTP binary mode: `ce-*` headers (values percent-encoded as the HTTP
 * binding asks) and a JSON body.
 */
export function toBinaryCloudEvent(event: Event): BinaryCloudEvent {
  // Built field by field rather than through toCloudEvent: this runs for every published event.
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': encodeHeaderValue(event.id),
    'ce-type': encodeHeaderValue(event.type),
    'ce-source': encodeHeaderValue(event.source),
    'ce-time': encodeHeaderValue(event.time),
    'ce-dataversion': String(event.version),
    'ce-correlationid': encodeHeaderValue(event.correlationId),
  };
  if (event.subject !== undefined) headers['ce-subject'] = encodeHeaderValue(event.subject);
  if (event.causationId !== undefined) headers['ce-causationid'] = encodeHeaderValue(event.causationId);
  if (event.extensions !== undefined) {
    for (const name in event.extensions) {
      const value = event.extensions[name];
      if (value !== undefined) headers[`ce-${name}`] = encodeHeaderValue(value);
    }
  }
  return { headers, body: JSON.stringify(event.data) };
}

/**
 * Reads a CloudEvent in any form: a structured-mode object, its JSON text, or binary mode
 * (`{ headers, body }`). It checks the envelope only; the catalog validates `data`.
 *
 * @throws TidingsError `TIDINGS_MALFORMED` naming the attribute that is missing or wrong.
 */
export function fromCloudEvent(input: unknown): Event {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    return fromStructured(parseJson(input, 'the CloudEvent'));
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw malformed(`expected a CloudEvent object, JSON text or { headers, body }, got ${describe(input)}`);
  }
  if ('specversion' in input) return fromStructured(input);
  if ('headers' in input) {
    const { headers, body } = input as { headers: unknown; body?: unknown };
    return fromBinaryCloudEvent(headers as HeadersInput, body);
  }
  throw malformed('the object has neither "specversion" (structured mode) nor "headers" (binary mode)');
}

/**
 * Reads a CloudEvent that arrived as headers and a body: binary mode (`ce-*` headers), or structured mode
 * (`content-type: application/cloudevents+json`).
 */
export function fromBinaryCloudEvent(headers: HeadersInput, body: unknown): Event {
  return readBinaryCloudEvent(headers, body, true);
}

/**
 * {@link fromBinaryCloudEvent}, optionally leaving the event unfrozen: a caller that builds the final event
 * from it (the bus, upcasting the data) then freezes once instead of twice.
 * @internal
 */
export function readBinaryCloudEvent(headers: HeadersInput, body: unknown, freeze: boolean): Event {
  if (typeof headers !== 'object' || headers === null) throw malformed('binary mode needs a headers object');
  const attributes: Record<string, unknown> = {};
  let contentType: string | undefined;
  if (isFetchHeaders(headers)) {
    headers.forEach((value, name) => {
      contentType = takeHeader(attributes, name, value, contentType);
    });
  } else {
    // Walked in place rather than through a list of entries: this runs for every delivery.
    const record = headers as Record<string, unknown>;
    const ownOnly = inheritsNothing(record);
    for (const name in record) {
      if (!ownOnly && !Object.hasOwn(record, name)) continue;
      const value = record[name];
      if (value === undefined) continue;
      const text =
        typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : JSON.stringify(value);
      contentType = takeHeader(attributes, name, text, contentType);
    }
  }
  // What Tidings itself writes, recognised without running the three patterns below.
  const plainJson = contentType === 'application/json';
  if (!plainJson && contentType !== undefined && /^application\/cloudevents\+json\b/i.test(contentType)) {
    // Structured mode over HTTP: the whole event is the body.
    const structured =
      typeof body === 'string' || body instanceof Uint8Array ? parseJson(body, 'the body') : body;
    return fromStructured(structured as Record<string, unknown>, freeze);
  }
  if (
    !plainJson &&
    contentType !== undefined &&
    /^application\/cloudevents-batch\+json\b/i.test(contentType)
  ) {
    throw malformed('batched CloudEvents are not accepted here; decode each event of the batch on its own');
  }
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  if (body !== undefined && body !== null && body !== '') {
    const isJson = contentType === undefined || plainJson || JSON_CONTENT.test(contentType);
    if (!isJson) throw malformed(`content-type "${contentType}" is not JSON; Tidings events carry JSON data`);
    attributes.data =
      typeof body === 'string' || body instanceof Uint8Array ? parseJson(body, 'the body') : body;
  }
  return fromStructured(attributes, freeze);
}

/** What a header name stands for: the content type, a CloudEvents attribute, or nothing. */
interface HeaderRole {
  /** The lowercased header name. */
  readonly name: string;
  readonly contentType: boolean;
  /** The attribute a `ce-` header carries. */
  readonly attribute: string | undefined;
}

// Header names repeat from message to message: their roles are worked out once (for a bounded number
// of names, so that a stream of odd names cannot grow this without end).
const headerRoles = new Map<string, HeaderRole>();
const MAX_HEADER_ROLES = 512;

function roleOf(rawName: string): HeaderRole {
  let role = headerRoles.get(rawName);
  if (role === undefined) {
    const name = rawName.toLowerCase();
    role = {
      name,
      contentType: name === 'content-type',
      attribute: name.startsWith('ce-') ? name.slice(3) : undefined,
    };
    if (headerRoles.size < MAX_HEADER_ROLES) headerRoles.set(rawName, role);
  }
  return role;
}

/** Files one header under its attribute; returns the content type seen so far. */
function takeHeader(
  attributes: Record<string, unknown>,
  rawName: string,
  value: string,
  contentType: string | undefined,
): string | undefined {
  const role = roleOf(rawName);
  if (role.contentType) return value;
  if (role.attribute !== undefined) attributes[role.attribute] = decodeHeaderValue(role.name, value);
  return contentType;
}

/**
 * True when `for…in` over `record` visits its own properties only, so that the `Object.hasOwn` check
 * per property can be skipped: its prototype is `Object.prototype` (with nothing enumerable added to
 * it) or nothing.
 */
function inheritsNothing(record: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(record);
  return prototype === null || (prototype === Object.prototype && Object.keys(prototype).length === 0);
}

function fromStructured(ce: Record<string, unknown>, freeze = true): Event {
  if (typeof ce !== 'object' || ce === null || Array.isArray(ce)) {
    throw malformed(`expected a CloudEvent object, got ${describe(ce)}`);
  }
  if (ce.specversion !== '1.0') {
    throw malformed(`specversion must be "1.0" (got ${describe(ce.specversion)})`);
  }
  const contentType = ce.datacontenttype;
  if (
    contentType !== undefined &&
    contentType !== 'application/json' &&
    (typeof contentType !== 'string' || !JSON_CONTENT.test(contentType))
  ) {
    throw malformed(`datacontenttype ${describe(contentType)} is not JSON; Tidings events carry JSON data`);
  }
  if (ce.data_base64 !== undefined)
    throw malformed('data_base64 is not supported; Tidings events carry JSON data');
  let extensions: Record<string, string> | undefined;
  const ownOnly = inheritsNothing(ce);
  for (const name in ce) {
    if (!ownOnly && !Object.hasOwn(ce, name)) continue;
    const value = ce[name];
    if (value === undefined || RESERVED_ATTRIBUTES.has(name)) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw malformed(`attribute "${name}" must be a string, number or boolean (got ${describe(value)})`);
    }
    extensions ??= {};
    extensions[name] = String(value);
  }
  const id = ce.id;
  const event: Record<string, unknown> = {
    id,
    type: ce.type,
    version: ce.dataversion === undefined ? 1 : toVersion(ce.dataversion),
    source: ce.source,
    time: ce.time,
    // An event from a producer that knows nothing of correlation starts its own chain.
    correlationId: ce.correlationid ?? id,
    data: ce.data ?? null,
  };
  if (ce.subject !== undefined) event.subject = ce.subject;
  if (ce.causationid !== undefined) event.causationId = ce.causationid;
  if (extensions !== undefined) event.extensions = extensions;
  if (!envelopeIsValid(event)) throw malformed(envelopeProblems(event).join('; '));
  return freeze ? deepFreeze(event as unknown as Event) : (event as unknown as Event);
}

function toVersion(value: unknown): unknown {
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return Number(value);
  return value;
}

function parseJson(text: string | Uint8Array, what: string): Record<string, unknown> {
  const source = typeof text === 'string' ? text : new TextDecoder().decode(text);
  try {
    return JSON.parse(source) as Record<string, unknown>;
  } catch (error) {
    throw malformed(`${what} is not valid JSON (${(error as Error).message})`, error);
  }
}

function isFetchHeaders(headers: HeadersInput): headers is Headers {
  return typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function';
}

// The HTTP binding asks for percent-encoding of spaces, quotes, percent signs and anything outside
// printable ASCII, so that unicode subjects survive any HTTP stack.
function encodeHeaderValue(value: string): string {
  return /^[\x21\x23-\x24\x26-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

function decodeHeaderValue(name: string, value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch (error) {
    throw malformed(`header ${name} has broken percent-encoding`, error);
  }
}

function malformed(reason: string, cause?: unknown): TidingsError {
  return new TidingsError(
    'TIDINGS_MALFORMED',
    `Not a valid event: ${reason}. Send a CloudEvents 1.0 event with id, type, source, time and JSON data.`,
    cause === undefined ? {} : { cause },
  );
}
