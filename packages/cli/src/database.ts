import { open, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { loadDbSetting } from './config.ts';
import { usageError } from './errors.ts';

/** Options of {@link resolveDatabaseFile}. */
export interface ResolveDatabaseOptions {
  /** The file given to `--db`; wins over the config file. */
  readonly db?: string | undefined;
  /** The directory relative paths and the config file are resolved from. */
  readonly cwd: string;
}

const PASS_DB = 'pass --db <file> (the SQLite file given to sqliteTransport({ file }))';
const SQLITE_HEADER = 'SQLite format 3\u0000';

/**
 * Finds the SQLite database the commands read: `--db <file>`, else `db` from `tidings.config.js`, and
 * checks that it is an existing SQLite file before anything opens it, because opening a missing path
 * would quietly create an empty database there.
 *
 * @returns the absolute path of the database file.
 * @throws CliError with exit code 2 when no database is named, or the file is missing or not SQLite.
 *
 * @example
 * const file = await resolveDatabaseFile({ db: 'shop.db', cwd: process.cwd() });
 */
export async function resolveDatabaseFile(options: ResolveDatabaseOptions): Promise<string> {
  let given: string;
  let from: string;
  if (options.db !== undefined) {
    given = options.db;
    from = '--db';
  } else {
    const setting = await loadDbSetting(options.cwd);
    if (setting === undefined) {
      throw usageError(
        `No database to read: ${PASS_DB}, or export db (its path) from tidings.config.js in ${options.cwd}.`,
      );
    }
    if (typeof setting.db !== 'string' || setting.db.length === 0) {
      throw usageError(
        `db in ${setting.file} must be the path of the SQLite file given to sqliteTransport({ file }) ` +
          `(got ${typeof setting.db === 'string' ? 'an empty string' : typeof setting.db}); or ${PASS_DB}.`,
      );
    }
    given = setting.db;
    from = `db in ${setting.file}`;
  }

  const file = resolve(options.cwd, given);
  const shown = relative(options.cwd, file) || file;
  const info = await stat(file).catch(() => undefined);
  if (info === undefined) {
    throw usageError(`Database file not found: ${given} (${from}; looked at ${file}); ${PASS_DB}.`);
  }
  if (!info.isFile()) throw usageError(`${shown} (${from}) is not a file; ${PASS_DB}.`);
  if ((await readHeader(file)) !== SQLITE_HEADER) {
    throw usageError(
      `${shown} (${from}) is not a SQLite database${info.size === 0 ? ' (it is empty)' : ''}; ${PASS_DB}.`,
    );
  }
  return file;
}

async function readHeader(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(
      Buffer.alloc(SQLITE_HEADER.length),
      0,
      SQLITE_HEADER.length,
      0,
    );
    return buffer.toString('latin1', 0, bytesRead);
  } catch {
    return '';
  } finally {
    await handle.close();
  }
}
