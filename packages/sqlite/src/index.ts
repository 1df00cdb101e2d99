/**
 * @module
 * @tidings/sqlite: the embedded durable transport (consumer groups, leases, delayed retries,
 * per-subject order, dead letters), the event store and an idempotency inbox, in one SQLite file.
 */

// The transport
export { SQLITE_CAPABILITIES, sqliteTransport } from './transport.ts';
export { SQLITE_MAX_MESSAGE_BYTES } from './publish.ts';
export type { SqliteTransport } from './transport.ts';
export { SQLITE_DEFAULTS } from './options.ts';
export type { SqliteDatabaseOptions, SqliteErrorContext, SqliteTransportOptions } from './options.ts';

// The event store
export { SQLITE_STORE_CAPABILITIES, sqliteEventStore } from './event-store.ts';
export type { SqliteEventStore } from './event-store.ts';
export type { SqliteEventStoreOptions } from './event-store-options.ts';
export { EVENT_STORE_SCHEMA_VERSION } from './event-store-schema.ts';

// The idempotency inbox
export { sqliteInbox } from './inbox.ts';
export type { SqliteInbox, SqliteInboxOptions } from './inbox.ts';

// The schema
export { SCHEMA_VERSION } from './schema.ts';
