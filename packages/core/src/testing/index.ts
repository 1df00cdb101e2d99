/**
 * @module
 * Tidings testing tools: the manual clock, the transport conformance suite every adapter runs, the
 * ledger that checks delivery promises, and the small helpers the suite is written with.
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
