/**
 * @module
 * Tidings testing tools: the manual clock, the transport and event store conformance suites every
 * adapter runs, given/when/then for deciders, the ledger that checks delivery promises, and the small
 * helpers the suites are written with.
 */

// Time
export { createManualClock } from './manual-clock.ts';
export type { ManualClock } from './manual-clock.ts';

// The transport conformance suite
export { busCases, describeTransportSuite, transportCases } from './transport-suite.ts';
export type {
  SuiteRunner,
  SuiteTestFunction,
  TransportSuiteContext,
  TransportSuiteOptions,
  TransportSuiteSkip,
} from './transport-suite.ts';
export type {
  CaseBusOptions,
  CaseConsumeOptions,
  CaseContext,
  SpawnConsumer,
  SpawnConsumerOptions,
  SpawnedConsumer,
  SuiteEvents,
  SuiteTime,
  TransportCase,
} from './transport-cases/harness.ts';

// The event store conformance suite
export { describeEventStoreSuite, storeCases } from './store-suite.ts';
export type { EventStoreSuiteContext, EventStoreSuiteOptions, EventStoreSuiteSkip } from './store-suite.ts';
export type { StoreCase, StoreCaseContext } from './store-cases/harness.ts';

// Given/when/then for deciders
export { deciderSpec } from './given.ts';
export type { DeciderSpec, ExpectedError, ExpectedEvent, ThenStep, WhenStep } from './given.ts';

// The delivery ledger
export { createLedger } from './ledger.ts';
export type { Ledger, LedgerDelivery, LedgerReport } from './ledger.ts';

// Cases for adapters against real brokers: a consumer in a child process, a cuttable TCP proxy, outages
export { buildPackage, spawnChildConsumer } from './child-consumer.ts';
export type { BuiltPackage, ChildConsumer, ChildConsumerOptions } from './child-consumer.ts';
export { startTcpProxy } from './tcp-proxy.ts';
export type { TcpProxy } from './tcp-proxy.ts';
export { runOutageCase } from './outage.ts';
export { freePort, serverAvailable, startPrivateServer, waitForPort } from './servers.ts';
export type { PrivateServer, PrivateServerOptions, ServerAvailableOptions } from './servers.ts';
export type { OutageCaseOptions, OutageReport } from './outage.ts';

// Helpers for tests that wait on conditions
export { eventually, gate } from './transport-cases/harness.ts';
export type { EventuallyOptions, Gate } from './transport-cases/harness.ts';
