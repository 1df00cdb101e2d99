/**
 * @module
 * @tidings/postgres: the PostgreSQL transport (consumer groups, leases, delayed retries, per-subject
 * order, dead letters, LISTEN/NOTIFY wake-ups) and the event store with a gap-free global order, in a
 * few tables of one schema.
 */

export { POSTGRES_CAPABILITIES, postgresTransport } from './transport.ts';
export { POSTGRES_MAX_MESSAGE_BYTES } from './publish.ts';
export type { PostgresTransport } from './transport.ts';
export type { PostgresDoctorOptions } from './doctor.ts';
export { POSTGRES_DEFAULTS } from './options.ts';
export type { PostgresConnectionOptions, PostgresErrorContext, PostgresTransportOptions } from './options.ts';
export { SCHEMA_VERSION } from './schema.ts';

// The event store
export { POSTGRES_STORE_CAPABILITIES, postgresEventStore } from './event-store.ts';
export type { PostgresEventStore, PostgresEventStoreOptions } from './event-store.ts';
