import { deepFreeze, describe, type Event, envelopeProblems, RESERVED_ATTRIBUTES } from './envelope.ts';
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
  if (typeof headers !== 'object' || headers === null) throw malformed('binary mode needs a headers object');
  const attributes: Record<string, unknown> = {};
  let contentType: string | undefined;
  for (const [rawName, rawValue] of headerEntries(headers)) {
    const name = rawName.toLowerCase();
    if (name === 'content-type') contentType = rawValue;
    else if (name.startsWith('ce-')) attributes[name.slice(3)] = decodeHeaderValue(name, rawValue);
  }
  if (contentType !== undefined && /^application\/cloudevents\+json\b/i.test(contentType)) {
    // Structured mode over HTTP: the whole event is the body.
    const structured =
      typeof body === 'string' || body instanceof Uint8Array ? parseJson(body, 'the body') : body;
    return fromStructured(structured as Record<string, unknown>);
  }
  if (contentType !== undefined && /^application\/cloudevents-batch\+json\b/i.test(contentType)) {
    throw malformed('batched CloudEvents are not accepted here; decode each event of the batch on its own');
  }
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  if (body !== undefined && body !== null && body !== '') {
    const isJson = contentType === undefined || JSON_CONTENT.test(contentType);
    if (!isJson) throw malformed(`content-type "${contentType}" is not JSON; Tidings events carry JSON data`);
    attributes.data =
      typeof body === 'string' || body instanceof Uint8Array ? parseJson(body, 'the body') : body;
  }
  return fromStructured(attributes);
}

function fromStructured(ce: Record<string, unknown>): Event {
  if (typeof ce !== 'object' || ce === null || Array.isArray(ce)) {
    throw malformed(`expected a CloudEvent object, got ${describe(ce)}`);
  }
  if (ce.specversion !== '1.0') {
    throw malformed(`specversion must be "1.0" (got ${describe(ce.specversion)})`);
  }
  const contentType = ce.datacontenttype;
  if (contentType !== undefined && (typeof contentType !== 'string' || !JSON_CONTENT.test(contentType))) {
    throw malformed(`datacontenttype ${describe(contentType)} is not JSON; Tidings events carry JSON data`);
  }
  if (ce.data_base64 !== undefined)
    throw malformed('data_base64 is not supported; Tidings events carry JSON data');
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(ce)) {
    if (RESERVED_ATTRIBUTES.has(name) || value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw malformed(`attribute "${name}" must be a string, number or boolean (got ${describe(value)})`);
    }
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
  if (Object.keys(extensions).length > 0) event.extensions = extensions;
  const problems = envelopeProblems(event);
  if (problems.length > 0) throw malformed(problems.join('; '));
  return deepFreeze(event as unknown as Event);
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

function headerEntries(headers: HeadersInput): [string, string][] {
  const list: [string, string][] = [];
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    (headers as Headers).forEach((value, name) => {
      list.push([name, value]);
    });
    return list;
  }
  const record = headers as Record<string, unknown>;
  for (const name in record) {
    if (!Object.hasOwn(record, name)) continue;
    const value = record[name];
    if (value === undefined) continue;
    list.push([
      name,
      Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : JSON.stringify(value),
    ]);
  }
  return list;
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
