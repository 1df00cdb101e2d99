// Re-exported from here so that it resolves against this folder's own copy of Emmett 0.38.5.
export { getSQLiteEventStore, readMessagesBatch, sqliteConnection } from '@event-driven-io/emmett-sqlite';
export type { SQLiteConnection, SQLiteEventStore } from '@event-driven-io/emmett-sqlite';
