import pg from 'pg';
import type { Pool } from 'pg';
import type { PostgresConnectionOptions } from './options.ts';

/**
 * The application's pool when it passed one, or a pool of Tidings' own with bounded waits: with the
 * server away a call fails fast (TIDINGS_UNAVAILABLE) instead of queueing, a connection that went
 * silent is given up and replaced, and keep-alive finds dead peers among idle ones. @internal
 */
export function openPool(
  options: PostgresConnectionOptions,
  timeouts: { readonly connectTimeoutMs: number; readonly queryTimeoutMs: number },
): { readonly pool: Pool; readonly owned: boolean } {
  if (options.pool !== undefined) return { pool: options.pool, owned: false };
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    query_timeout: timeouts.queryTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  return { pool, owned: true };
}
