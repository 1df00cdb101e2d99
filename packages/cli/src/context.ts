import type { Catalog, EventStore, Projection, Transport } from '@tidings/core';
import type { LoadedProjections, TidingsConfig } from './config.ts';
import type { CliIo, Colors } from './io.ts';

/** What every command gets from `main`: where to write, how to style, and the user's configuration. */
export interface CommandContext {
  readonly io: CliIo;
  readonly colors: Colors;
  /** Writes one line (a newline is added) to standard output. */
  readonly print: (text: string) => void;
  /** Loads the catalog (and db) named by `--catalog` or the config file; once per run. */
  readonly config: () => Promise<TidingsConfig>;
  /** The absolute path of the SQLite database named by `--db` or the config file's `db`, checked to exist. */
  readonly database: () => Promise<string>;
  /** A transport on the broker named by `--transport` (or `$TIDINGS_TRANSPORT_URL`), else the SQLite `--db`; the caller closes it. */
  readonly transport: () => Promise<Transport>;
  /**
   * The event store named by `--store` (or `$TIDINGS_STORE_URL`), else the SQLite `--db`; the caller closes
   * it. `options` reads its events through a catalog, or runs projections inline in it.
   */
  readonly store: (options?: StoreOptions) => Promise<EventStore>;
  /** The projections named by `--projections` or the config file (undefined when neither names any); once per run. */
  readonly projections: () => Promise<LoadedProjections | undefined>;
  /** The exit code `main` returns when the command finishes without throwing (0 unless set). */
  exitCode: number;
}

/** Options the CLI gives the event store's factory besides what the URL says. */
export interface StoreOptions {
  readonly catalog?: Catalog | undefined;
  /** Projections the store applies inline in appends, as the application opens it. */
  readonly projections?: readonly Projection[] | undefined;
}
