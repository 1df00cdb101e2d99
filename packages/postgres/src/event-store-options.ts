import {
  type Catalog,
  type Clock,
  checkOptions,
  describeValue,
  inlineProjectionsOf,
  isRecord,
  type Projection,
  systemClock,
} from '@tidings/core';
import { connectionProblems, type PostgresConnectionOptions, SCHEMA, timeoutProblems } from './options.ts';

/** Options of {@link postgresEventStore}. */
export type PostgresEventStoreOptions = PostgresConnectionOptions & {
  /** The schema the tables live in, created when missing (default `tidings`, shared with the transport). */
  readonly schema?: string | undefined;
  /** Upcasts every event read to its latest version, and rejects events it cannot read. */
  readonly catalog?: Catalog | undefined;
  /** Where `recordedAt` comes from (default the system clock); tests pass a manual clock. */
  readonly clock?: Clock | undefined;
  /**
   * How long getting a connection may take, in ms, for a pool the store opens (default 2000): while the
   * server is away, a call fails with `TIDINGS_UNAVAILABLE` after at most this long.
   */
  readonly connectTimeoutMs?: number | undefined;
  /** How long a statement may wait for its answer, in ms, for a pool the store opens (default 5000). */
  readonly queryTimeoutMs?: number | undefined;
  /**
   * Projections applied inside every append's transaction, once they have caught up with the history.
   * Every process appending to the schema must list the same ones.
   */
  readonly projections?: readonly Projection[] | undefined;
};

/** The options with every default filled in. @internal */
export interface ResolvedEventStoreOptions {
  readonly schema: string;
  readonly catalog: Catalog | undefined;
  readonly clock: Clock;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly projections: readonly Projection[];
}

const KEYS = [
  'connectionString',
  'pool',
  'schema',
  'catalog',
  'clock',
  'connectTimeoutMs',
  'queryTimeoutMs',
  'projections',
];

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 * @internal
 */
export function resolveEventStoreOptions(options: PostgresEventStoreOptions): ResolvedEventStoreOptions {
  checkOptions('postgresEventStore', options, {
    known: KEYS,
    example: "{ connectionString: 'postgres://localhost/app' }",
    problems: (raw) => [
      ...connectionProblems(raw),
      raw.schema === undefined || (typeof raw.schema === 'string' && SCHEMA.test(raw.schema))
        ? undefined
        : `schema must be a plain identifier of at most 41 characters (got ${describeValue(raw.schema)})`,
      raw.catalog === undefined || (isRecord(raw.catalog) && typeof raw.catalog.upgrade === 'function')
        ? undefined
        : `catalog must be made with createCatalog() (got ${describeValue(raw.catalog)})`,
      ...timeoutProblems(raw),
    ],
  });
  return {
    schema: options.schema ?? 'tidings',
    catalog: options.catalog,
    clock: options.clock ?? systemClock,
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    queryTimeoutMs: options.queryTimeoutMs ?? 5000,
    projections: inlineProjectionsOf('postgresEventStore', options.projections),
  };
}
