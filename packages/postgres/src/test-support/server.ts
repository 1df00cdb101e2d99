import pg from 'pg';

/** The server the integration tests use; TIDINGS_POSTGRES_URL overrides it. */
export const CONNECTION_STRING =
  process.env.TIDINGS_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether the test server answers. When it does not, prints one loud line saying what is missing and
 * how to start it, and returns false so the file skips; on CI (`CI=true`) a missing server fails.
 */
export async function serverUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: CONNECTION_STRING, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const line =
      `PostgreSQL is not reachable at ${CONNECTION_STRING} (${why}): the @tidings/postgres integration tests ` +
      'are SKIPPED. Start it (e.g. `sudo service postgresql start`, or `docker run -p 5432:5432 ' +
      '-e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16`) or set TIDINGS_POSTGRES_URL.';
    if (process.env.CI === 'true')
      throw new Error(`${line} CI=true: a missing server fails the run.`, { cause: error });
    console.warn(`\n!!! ${line}\n`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
