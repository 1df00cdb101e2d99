import pg from 'pg';
import { serverAvailable } from '@tidings/core/testing';

/** The server the integration tests use; TIDINGS_POSTGRES_URL overrides it. */
export const CONNECTION_STRING =
  process.env.TIDINGS_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether the test server answers (core's `serverAvailable`): one loud line saying what is missing and
 * how to start it when it does not, so the file skips; on CI (`CI=true`) a missing server fails.
 */
export function serverUp(): Promise<boolean> {
  return serverAvailable({
    tests: '@tidings/postgres',
    server: `PostgreSQL at ${CONNECTION_STRING}`,
    start:
      'Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or ' +
      '`docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16`) or set TIDINGS_POSTGRES_URL.',
    probe: async () => {
      const client = new pg.Client({ connectionString: CONNECTION_STRING, connectionTimeoutMillis: 2000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  });
}
