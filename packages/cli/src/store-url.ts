/**
 * Opens an event store from a URL, the way `--transport` opens a transport: `sqlite:<file>` or
 * `postgres://…?schema=tidings`. The adapter package is imported only when its URL is used.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { EventStore } from '@tidings/core';
import { usageError } from './errors.ts';
import { openAdapter, parseTransportUrl } from './transport-url.ts';

/** The forms `--store` accepts, for help and error texts. */
export const STORE_URL_FORMS = 'sqlite:<file> or postgres://host/db?schema=tidings';

/** Which adapter a store URL names, and the options for its factory. @internal */
export function parseStoreUrl(text: string): {
  package: string;
  factory: string;
  options: Record<string, unknown>;
} {
  if (text.startsWith('sqlite:')) {
    const file = text.slice('sqlite:'.length).replace(/^\/\//, '');
    if (file === '') throw usageError('--store sqlite: needs a file, as in sqlite:shop.db');
    return { package: '@tidings/sqlite', factory: 'sqliteEventStore', options: { file } };
  }
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // Reported below, with the forms that work.
  }
  if (url?.protocol !== 'postgres:' && url?.protocol !== 'postgresql:') {
    throw usageError(
      `--store ${text} is not an event store URL; give ${STORE_URL_FORMS} (events are kept in SQLite or PostgreSQL).`,
    );
  }
  // The same connection string and schema parameter as the PostgreSQL transport's.
  return { ...parseTransportUrl(text), factory: 'postgresEventStore' };
}

/**
 * Opens the event store a URL names. A SQLite file must exist already: opening a missing path would
 * quietly create an empty store there.
 *
 * `extra` adds factory options the URL cannot carry, such as `catalog` and inline `projections`.
 *
 * @throws CliError with exit code 2 for a URL no store takes or a missing file, and 1 when the adapter
 * package is not installed or refuses the options.
 *
 * @example
 * const store = await openStoreUrl('sqlite:shop.db', process.cwd());
 */
export async function openStoreUrl(
  text: string,
  cwd: string,
  extra: Readonly<Record<string, unknown>> = {},
): Promise<EventStore> {
  const parsed = parseStoreUrl(text);
  const file = parsed.options.file;
  if (typeof file === 'string' && file !== ':memory:') {
    const path = resolve(cwd, file);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      throw usageError(
        `No event store file at ${file} (looked at ${path}); pass --store sqlite:<file>, the file given to ` +
          'sqliteEventStore({ file }).',
      );
    }
    return openAdapter<EventStore>({ ...parsed, options: { file: path, ...extra } }, text);
  }
  return openAdapter<EventStore>({ ...parsed, options: { ...parsed.options, ...extra } }, text);
}
