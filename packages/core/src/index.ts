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
export type {
  AnyEventDefinition,
  Catalog,
  CatalogEntry,
  CatalogOptions,
  EventsOf,
  TypesOf,
} from './catalog.ts';
export { readsAsPastTense } from './catalog-lint.ts';
export type { CatalogFinding } from './catalog-lint.ts';

// Catalog documentation
export { catalogToAsyncApi, catalogToMarkdown } from './catalog-docs.ts';
export type { AsyncApiOptions } from './catalog-docs.ts';

// The transport contract
export { decodeBody, decodeHeaders, encodeHeaders, rowToMessage } from './stored-message.ts';
export type { MessageRow } from './stored-message.ts';
export { checkPublish } from './transport-checks.ts';
export { handlerRuns } from './handler-runs.ts';
export type { HandlerRuns } from './handler-runs.ts';
export {
  checkConsumeOptions,
  checkOptions,
  checkOptionsObject,
  clockProblem,
  consoleErrorReporter,
  consumeOptionsProblems,
  describeValue,
  functionProblem,
  isRecord,
  numberProblem,
  stringProblem,
  unknownKeyProblems,
} from './option-checks.ts';
export type { ConsumeOptionRules, ErrorReportContext, NumberRule, OptionChecks } from './option-checks.ts';
export { formatFinding, hasDoctor, runDoctor } from './doctor.ts';
export type { DoctorCapable, DoctorFinding, DoctorLevel } from './doctor.ts';
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

// The event store contract, the memory store, aggregates, snapshots and deciders
export { memoryEventStore } from './event-store/memory-store.ts';
export type { MemoryEventStore, MemoryEventStoreOptions } from './event-store/memory-store.ts';
export { aggregateStream } from './event-store/aggregate.ts';
export type { AggregateStreamOptions, AggregateStreamResult } from './event-store/aggregate.ts';
export type { SnapshotPolicy } from './event-store/snapshots.ts';
export { defineDecider, handleCommand } from './event-store/decider.ts';
export type { Decider, HandleCommandOptions, HandleCommandResult } from './event-store/decider.ts';
export type {
  AppendOptions,
  AppendResult,
  DeleteStreamOptions,
  EventStore,
  EventStoreCapabilities,
  ExpectedVersion,
  GlobalPosition,
  ListedStream,
  ListStreamsOptions,
  ListStreamsResult,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  StoredSnapshot,
  StreamBound,
  StreamMetadata,
} from './event-store/types.ts';

// Subscriptions to the global order, their checkpoints, and the relay from the store to the bus
export { checkCheckpoint, memoryCheckpoints } from './event-store/checkpoints.ts';
export type { CheckpointStore } from './event-store/checkpoints.ts';
export { subscribeToAll } from './event-store/subscription.ts';
export type {
  StoreBatchHandler,
  StoreEventHandler,
  StoreSubscription,
  StoreSubscriptionContext,
  StoreSubscriptionFailure,
  SubscribeToAllOptions,
} from './event-store/subscription.ts';
export { relayToBus } from './event-store/relay.ts';
export type { RelayToBusOptions } from './event-store/relay.ts';

// Projections: read models kept inline with appends or by a runner, rebuilt, versioned blue/green
export { defineProjection } from './event-store/projection.ts';
export type {
  MaybePromise,
  ProjectedEvent,
  Projection,
  ProjectionContext,
  ProjectionOptions,
} from './event-store/projection.ts';
export {
  projectionDeadLetterStorage,
  projectionStatus,
  runProjections,
} from './event-store/projection-runner.ts';
export type {
  ProjectionProgress,
  ProjectionRunner,
  ProjectionStore,
  RunningProjection,
  RunProjectionsOptions,
} from './event-store/projection-runner.ts';
export type {
  DocumentReader,
  ProjectionDocuments,
  StoredDocument,
} from './event-store/projection-documents.ts';
export type { ProjectionState, ProjectionRead, UnreadableEvent } from './event-store/projection-state.ts';
export { PROJECTION_CHANNEL } from './event-store/projection-dead-letters.ts';

// The rules every event store shares, for adapters
export {
  checkAppend,
  checkExpectedVersion,
  checkStream,
  eventColumnValues,
  formatSequencePosition,
  isVersionConflict,
  parseSequencePosition,
  resolveReadAll,
  resolveReadStream,
  retriedAppend,
  tombstonedError,
  unreadableEvent,
  readRecorded,
  upcastRecorded,
} from './event-store/checks.ts';
export type { LocatedEvent, ResolvedStreamRead, StoredAt } from './event-store/checks.ts';
export { compareStreamNames, resolveListStreams } from './event-store/list-streams.ts';
export type {
  ProjectionKv,
  ProjectionStorage,
  ProjectionTransaction,
} from './event-store/projection-storage.ts';
export { applyInline } from './event-store/projection-batch.ts';
export { callHook as callProjectionHook } from './event-store/projection-apply.ts';
export { inlineProjectionsOf, readLeniently, startInlineProjections } from './event-store/projection-host.ts';
export type { ResolvedListStreams } from './event-store/list-streams.ts';

// The in-process emitter
export { createEmitter } from './emitter.ts';
export type {
  AnyListener,
  CatalogEmitter,
  CatalogEventMap,
  EmitAsyncOptions,
  EmitResult,
  Emitter,
  EmitterOptions,
  EventMap,
  EventsOptions,
  ListenerErrorInfo,
  ListenerFailure,
  ListenOptions,
  Listener,
  Unsubscribe,
  WildcardListener,
} from './emitter-types.ts';

// The bus
export { createBus } from './bus.ts';
export type {
  Bus,
  BusOptions,
  Handler,
  HandlerContext,
  HandlerMap,
  SubscribeOptions,
  Subscription,
} from './bus.ts';
export { compileFilter, matchesPattern } from './filter.ts';
export type { EventFilter, FieldFilter, FilterCondition, FilterScalar } from './filter.ts';

// Middleware
export { correlation } from './middleware/correlation.ts';
export { idempotent } from './middleware/idempotent.ts';
export type { IdempotentOptions } from './middleware/idempotent.ts';
export { measure } from './middleware/measure.ts';
export { DEFAULT_RETRY, isRetryable, retry } from './middleware/retry.ts';
export type { RetryOptions } from './middleware/retry.ts';
export { timeout } from './middleware/timeout.ts';
export { validate } from './middleware/validate.ts';
export type { Middleware, MiddlewareContext, Outcome } from './middleware/types.ts';
export { memoryInbox } from './inbox.ts';
export type { InboxStore } from './inbox.ts';

// Dead letters
export { createDeadLetters, failureFingerprint } from './dead-letters.ts';
export type {
  BulkProgress,
  DeadLetter,
  DeadLetterFilter,
  DeadLetters,
  FailureGroup,
} from './dead-letters.ts';

// Metrics
export { createMetrics, noopMetrics } from './metrics.ts';
export type { Labels, MemoryMetrics, MetricSample, Metrics } from './metrics.ts';

// The in-memory transport (one process; tests and the flow harness)
export { memoryTransport } from './memory-transport.ts';
export type { MemoryTransportOptions } from './memory-transport.ts';
