/**
 * @module
 * Tidings core: typed, versioned events, the catalog, the in-process emitter, and the contracts every
 * transport and store implements.
 */

// Errors
export {
  ConcurrencyError,
  invalidOptions,
  isTidingsError,
  NonRetryableError,
  permanent,
  SchemaInvalidError,
  TidingsError,
} from './errors.ts';
export type { SchemaIssue, TidingsErrorCode, TidingsErrorOptions } from './errors.ts';

// The event envelope and its CloudEvents mapping
export { createEvent, DEFAULT_SOURCE, newEventId } from './envelope.ts';
export type { Event, EventInit } from './envelope.ts';
export { fromBinaryCloudEvent, fromCloudEvent, toBinaryCloudEvent, toCloudEvent } from './cloudevents.ts';
export type { BinaryCloudEvent, CloudEventJson, HeadersInput } from './cloudevents.ts';

// Correlation
export { currentCause, runWithCause } from './context.ts';
export type { Causation, CauseLike } from './context.ts';

// Time
export { systemClock } from './clock.ts';
export type { Clock } from './clock.ts';

// Definitions and the catalog
export { defineEvent, upcaster } from './define-event.ts';
export type { DataOf, DefineEventOptions, EventDefinition, EventOf, Upcaster } from './define-event.ts';
export { createCatalog } from './catalog.ts';
export type { AnyEventDefinition, Catalog, CatalogEntry, CatalogOptions, EventsOf, TypesOf } from './catalog.ts';
export { readsAsPastTense } from './catalog-lint.ts';
export type { CatalogFinding } from './catalog-lint.ts';

// Catalog documentation
export { catalogToAsyncApi, catalogToMarkdown } from './catalog-docs.ts';
export type { AsyncApiOptions } from './catalog-docs.ts';

// The transport contract
export { fromTransportMessage, toTransportMessage } from './message.ts';
export type {
  ConsumeOptions,
  DeadLetterQuery,
  DeadLetterRecord,
  DeadLetterStorage,
  Delivery,
  DeliveryHandler,
  FailureRecord,
  Transport,
  TransportCapabilities,
  TransportConsumer,
  TransportMessage,
} from './transport.ts';
