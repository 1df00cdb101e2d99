import { fromBinaryCloudEvent, readBinaryCloudEvent, toBinaryCloudEvent } from './cloudevents.ts';
import type { Event } from './envelope.ts';
import type { TransportMessage } from './transport.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Maps an event onto a transport message: CloudEvents binary mode, the data as JSON bytes. */
export function toTransportMessage(event: Event): TransportMessage {
  const { headers, body } = toBinaryCloudEvent(event);
  return { id: event.id, topic: event.type, key: event.subject, headers, body: encoder.encode(body) };
}

/**
 * Reads the event back from a transport message (envelope only; the catalog validates the data).
 *
 * @throws TidingsError `TIDINGS_MALFORMED` when the headers or body are not a valid event.
 */
export function fromTransportMessage(message: TransportMessage): Event {
  return fromBinaryCloudEvent(message.headers, decoder.decode(message.body));
}

/**
 * {@link fromTransportMessage} without freezing: the event is new and only the caller holds it, to
 * complete and freeze once (the bus hands it to the catalog's adoptFromCatalog).
 * @internal
 */
export function readTransportMessage(message: TransportMessage): Event {
  return readBinaryCloudEvent(message.headers, decoder.decode(message.body), false);
}
