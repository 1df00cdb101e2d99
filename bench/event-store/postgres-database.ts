import pg from 'pg';

/** The server both PostgreSQL sides use: the loopback one of the integration tests, or the same variable. */
export const POSTGRES_URL = process.env.TIDINGS_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database made for one side of one run, and how to remove it. */
export interface FreshDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database on the benchmark's server (dropping a leftover of the same name first), so
 * each side starts from nothing: no tables, functions or sequences of an earlier run or of the other side.
 */
export async function freshDatabase(name: string): Promise<FreshDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`freshDatabase: "${name}" is not a plain identifier`);
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * Writes every dirty page of the server out now, so that the side measured next does not pay for the
 * checkpoint that the previous side's writes (or dropping its database) would otherwise cause mid-case.
 */
export const checkpoint = (): Promise<void> => admin('CHECKPOINT');
