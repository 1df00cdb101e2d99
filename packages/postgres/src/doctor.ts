import type { Pool, PoolClient } from 'pg';
import { invalidOptions } from '@tidings/core';
import type { DoctorFinding } from '@tidings/core';
import { asUnavailable } from './errors.ts';
import { quote, SCHEMA_VERSION } from './schema.ts';

/** Options of the postgres transport's `doctor()`. */
export interface PostgresDoctorOptions {
  /** A transaction open longer than this, in ms, is reported (default 60 000). */
  readonly longTransactionMs?: number;
}

/** The server settings the doctor reads, by name, as `pg_settings` holds them. @internal */
export type ServerSettings = ReadonlyMap<string, string>;

/** A session whose transaction has been open too long. @internal */
export interface LongTransaction {
  readonly pid: number;
  readonly state: string;
  readonly ageMs: number;
  readonly user: string;
  readonly application: string;
  readonly query: string;
}

const SETTING_NAMES = [
  'server_version',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'idle_in_transaction_session_timeout',
  'autovacuum',
];

const seconds = (ms: number): string =>
  ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;

/**
 * What the durability and housekeeping settings mean for the promises of the transport: a publish
 * that resolved survives a crash, and readers are not held back for ever. @internal
 */
export function settingFindings(settings: ServerSettings): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const fsync = settings.get('fsync');
  findings.push(
    fsync === 'off'
      ? {
          check: 'postgres.fsync',
          level: 'fail',
          message:
            'fsync is off: the server never forces its writes to disk, so a power loss or OS crash can lose ' +
            'confirmed publishes and corrupt the database',
          fix: 'ALTER SYSTEM SET fsync = on; SELECT pg_reload_conf(); (or fsync = on in postgresql.conf)',
        }
      : { check: 'postgres.fsync', level: 'ok', message: 'fsync is on' },
  );
  const commit = settings.get('synchronous_commit') ?? 'on';
  findings.push(
    commit === 'off'
      ? {
          check: 'postgres.synchronous_commit',
          level: 'fail',
          message:
            "synchronous_commit is off for the transport's sessions: a commit is confirmed before its WAL " +
            'is on disk, so the last confirmed publishes and acks can be lost when the server crashes',
          fix:
            'ALTER SYSTEM SET synchronous_commit = on (and check ALTER ROLE / ALTER DATABASE / the connection ' +
            'options for a per-session override)',
        }
      : {
          check: 'postgres.synchronous_commit',
          level: 'ok',
          message: `synchronous_commit is ${commit}: a publish resolves once its commit is on disk`,
        },
  );
  findings.push(
    settings.get('full_page_writes') === 'off'
      ? {
          check: 'postgres.full_page_writes',
          level: 'warn',
          message:
            'full_page_writes is off: a page half-written when the OS crashes cannot be repaired from the WAL, ' +
            'which can corrupt the tables the transport keeps its messages in',
          fix: 'ALTER SYSTEM SET full_page_writes = on; SELECT pg_reload_conf(); (unless the file system rules out torn pages)',
        }
      : { check: 'postgres.full_page_writes', level: 'ok', message: 'full_page_writes is on' },
  );
  const idleTimeout = settings.get('idle_in_transaction_session_timeout');
  findings.push(
    idleTimeout === undefined || idleTimeout === '0'
      ? {
          check: 'postgres.idle_in_transaction_session_timeout',
          level: 'warn',
          message:
            'idle_in_transaction_session_timeout is 0: a session that opens a transaction and forgets it keeps ' +
            'it open for ever, holding back vacuum on the deliveries table and the locks it took',
          fix: "ALTER SYSTEM SET idle_in_transaction_session_timeout = '5min'; SELECT pg_reload_conf();",
        }
      : {
          check: 'postgres.idle_in_transaction_session_timeout',
          level: 'ok',
          message: `idle_in_transaction_session_timeout is ${idleTimeout} ms`,
        },
  );
  findings.push(
    settings.get('autovacuum') === 'off'
      ? {
          check: 'postgres.autovacuum',
          level: 'warn',
          message:
            'autovacuum is off: deliveries are inserted and deleted all day, so the table and its indexes grow ' +
            'without bound and claims get slower',
          fix: 'ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf();',
        }
      : { check: 'postgres.autovacuum', level: 'ok', message: 'autovacuum is on' },
  );
  return findings;
}

/** One warning per session holding a transaction open too long, or one `ok`. @internal */
export function longTransactionFindings(
  transactions: readonly LongTransaction[],
  thresholdMs: number,
): DoctorFinding[] {
  if (transactions.length === 0) {
    return [
      {
        check: 'postgres.long_transactions',
        level: 'ok',
        message: `no transaction of this database has been open longer than ${seconds(thresholdMs)}`,
      },
    ];
  }
  return transactions.map((t) => ({
    check: 'postgres.long_transactions',
    level: 'warn',
    message:
      `pid ${t.pid} (user ${t.user || '?'}${t.application ? `, ${t.application}` : ''}) has had a transaction ` +
      `open for ${seconds(t.ageMs)}, now ${t.state}: ${t.query.replace(/\s+/g, ' ').trim() || '(no query)'}. ` +
      'While it stays open, vacuum cannot remove the rows of settled deliveries, and the rows it locked stay locked',
    fix:
      `find why the application keeps it open; end it with SELECT pg_terminate_backend(${t.pid}); set ` +
      'idle_in_transaction_session_timeout so forgotten transactions end by themselves',
  }));
}

/** Whether the tables exist, at which version, and the dead letters they hold. */
async function schemaFindings(client: PoolClient, schema: string): Promise<DoctorFinding[]> {
  const s = quote(schema);
  const { rows } = await client.query<{ meta: string | null; dead_letters: string | null }>(
    'SELECT to_regclass($1) AS meta, to_regclass($2) AS dead_letters',
    [`${s}.meta`, `${s}.dead_letters`],
  );
  if (rows[0]?.meta == null || rows[0].dead_letters == null) {
    return [
      {
        check: 'postgres.schema',
        level: 'ok',
        message: `schema "${schema}" has no Tidings tables yet; the first publish or consume creates them`,
      },
    ];
  }
  const version = await client.query<{ value: number }>(
    `SELECT value FROM ${s}.meta WHERE name = 'schema_version'`,
  );
  const found = version.rows[0]?.value ?? 0;
  const schemaFinding: DoctorFinding =
    found > SCHEMA_VERSION
      ? {
          check: 'postgres.schema',
          level: 'fail',
          message: `schema "${schema}" is at version ${found}, newer than the ${SCHEMA_VERSION} this release of @tidings/postgres knows`,
          fix: 'upgrade @tidings/postgres in this process',
        }
      : {
          check: 'postgres.schema',
          level: 'ok',
          message:
            found === SCHEMA_VERSION
              ? `schema "${schema}" is at version ${found}`
              : `schema "${schema}" is at version ${found}; the next publish or consume migrates it to ${SCHEMA_VERSION}`,
        };
  const depth = await client.query<{ group_name: string; count: string; oldest_at: string }>(
    `SELECT group_name, count(*) AS count, min(dead_lettered_at) AS oldest_at
     FROM ${s}.dead_letters GROUP BY group_name ORDER BY count(*) DESC, group_name LIMIT 10`,
  );
  const total = depth.rows.reduce((sum, row) => sum + Number(row.count), 0);
  const deadLetters: DoctorFinding = {
    check: 'postgres.dead_letters',
    level: 'ok',
    message:
      total === 0
        ? 'no dead letters'
        : `dead letters waiting for an operator: ${depth.rows
            .map(
              (row) =>
                `${row.group_name} ${row.count} (oldest ${new Date(Number(row.oldest_at)).toISOString()})`,
            )
            .join(', ')}`,
  };
  return [schemaFinding, deadLetters];
}

async function readSettings(client: PoolClient): Promise<ServerSettings> {
  // current_setting, not pg_settings alone: it is what this session (the transport's) runs with.
  const { rows } = await client.query<{ name: string; value: string }>(
    'SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name',
    [SETTING_NAMES],
  );
  const settings = new Map<string, string>();
  for (const row of rows) settings.set(row.name, row.value);
  const timeout = await client.query<{ setting: string }>(
    "SELECT setting FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'",
  );
  // In ms, whatever unit it was set in.
  if (timeout.rows[0] !== undefined)
    settings.set('idle_in_transaction_session_timeout', timeout.rows[0].setting);
  return settings;
}

async function readLongTransactions(client: PoolClient, thresholdMs: number): Promise<LongTransaction[]> {
  const { rows } = await client.query<{
    pid: number;
    state: string | null;
    age_ms: string;
    usename: string | null;
    application_name: string | null;
    query: string | null;
  }>(
    `SELECT pid, state, usename, application_name, left(query, 300) AS query,
            floor(extract(epoch FROM clock_timestamp() - xact_start) * 1000)::bigint AS age_ms
     FROM pg_stat_activity
     WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND datname = current_database()
       AND backend_type = 'client backend'
       AND clock_timestamp() - xact_start > $1::double precision * interval '1 millisecond'
     ORDER BY xact_start LIMIT 20`,
    [thresholdMs],
  );
  return rows.map((row) => ({
    pid: row.pid,
    state: row.state ?? 'unknown',
    ageMs: Number(row.age_ms),
    user: row.usename ?? '',
    application: row.application_name ?? '',
    query: row.query ?? '',
  }));
}

/**
 * The postgres doctor: the durability settings of the transport's sessions, transactions open too long,
 * the schema's version and its dead letters. It only reads.
 *
 * @throws TidingsError `TIDINGS_UNAVAILABLE` when the server cannot be reached. @internal
 */
export async function postgresDoctor(
  pool: Pool,
  schema: string,
  options: PostgresDoctorOptions = {},
): Promise<readonly DoctorFinding[]> {
  const thresholdMs = options.longTransactionMs ?? 60_000;
  if (!(typeof thresholdMs === 'number' && Number.isFinite(thresholdMs) && thresholdMs >= 0)) {
    throw invalidOptions('postgresTransport.doctor', [
      `longTransactionMs must be a finite number >= 0 (got ${String(thresholdMs)})`,
    ]);
  }
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw asUnavailable(error, 'run the doctor');
  }
  const ignore = (): void => undefined;
  client.on('error', ignore);
  try {
    const settings = await readSettings(client);
    const version: DoctorFinding = {
      check: 'postgres.version',
      level: 'ok',
      message: `PostgreSQL ${settings.get('server_version') ?? 'unknown'}`,
    };
    return [
      version,
      ...settingFindings(settings),
      ...longTransactionFindings(await readLongTransactions(client, thresholdMs), thresholdMs),
      ...(await schemaFindings(client, schema)),
    ];
  } catch (error) {
    throw asUnavailable(error, 'run the doctor');
  } finally {
    client.removeListener('error', ignore);
    client.release();
  }
}
