import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Catalog, Projection } from '@tidings/core';
import { CliError, usageError } from './errors.ts';

/**
 * What a project's `tidings.config.js` exports (as its default export, or as named exports). It may
 * also export `projections`, read by {@link loadProjections}.
 */
export interface TidingsConfig {
  /** The catalog the commands read, made with `createCatalog`. */
  readonly catalog: Catalog;
  /** Where the system keeps its store and dead letters, for the commands that read them. */
  readonly db?: unknown;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** A module exporting `catalog` (named or default), as given to `--catalog`; wins over the config file. */
  readonly catalog?: string | undefined;
  /** The directory the module path and the config file are resolved from. */
  readonly cwd: string;
}

/** The config file names looked for in the working directory, in this order. */
export const CONFIG_FILES: readonly string[] = ['tidings.config.js', 'tidings.config.mjs'];

const PASS_CATALOG =
  'pass --catalog <module> (the path of a JS/ESM module that exports `catalog`, named or default)';

/**
 * Loads the user's catalog from `--catalog <module>` or, failing that, from `tidings.config.js` (or
 * `.mjs`) in the working directory. The `db` setting always comes from the config file.
 *
 * @throws CliError with exit code 2 when there is no catalog to load or the module does not exist,
 * and exit code 1 when the module fails to load.
 *
 * @example
 * const { catalog } = await loadConfig({ catalog: './dist/catalog.js', cwd: process.cwd() });
 */
export async function loadConfig(options: LoadConfigOptions): Promise<TidingsConfig> {
  const configFile = findConfigFile(options.cwd);
  const config =
    configFile === undefined ? undefined : configFrom(await importModule(configFile, options.cwd));
  const db = config?.db === undefined ? {} : { db: config.db };

  if (options.catalog !== undefined) {
    const file = resolve(options.cwd, options.catalog);
    if (!existsSync(file)) {
      throw usageError(`Catalog module not found: ${options.catalog} (looked at ${file}); ${PASS_CATALOG}.`);
    }
    const module = await importModule(file, options.cwd);
    const catalog = module.catalog ?? module.default;
    if (!isCatalog(catalog)) {
      throw usageError(
        `${options.catalog} does not export a catalog: export the value of createCatalog() as \`catalog\` or as the default export.`,
      );
    }
    return { catalog, ...db };
  }

  if (configFile === undefined) {
    throw usageError(
      `No catalog to read: ${PASS_CATALOG}, or add tidings.config.js exporting { catalog } to ${options.cwd}.`,
    );
  }
  if (!isCatalog(config?.catalog)) {
    const name = relative(options.cwd, configFile);
    throw usageError(
      `${name} exports no catalog: export { catalog } (the value of createCatalog()) from it, or ${PASS_CATALOG}.`,
    );
  }
  return { catalog: config.catalog, ...db };
}

/**
 * Reads the `db` setting of `tidings.config.js` (or `.mjs`) without asking for a catalog: the commands
 * that only read the database work in a project whose config names no catalog.
 *
 * @returns the setting as exported (unchecked) and the config file's name, or undefined when there is
 * no config file or it exports no `db`.
 * @throws CliError with exit code 1 when the config file fails to load.
 *
 * @example
 * const setting = await loadDbSetting(process.cwd()); // { db: 'shop.db', file: 'tidings.config.js' }
 */
export async function loadDbSetting(cwd: string): Promise<{ db: unknown; file: string } | undefined> {
  const configFile = findConfigFile(cwd);
  if (configFile === undefined) return undefined;
  const { db } = configFrom(await importModule(configFile, cwd));
  return db === undefined ? undefined : { db, file: relative(cwd, configFile) };
}

const findConfigFile = (cwd: string): string | undefined =>
  CONFIG_FILES.map((name) => resolve(cwd, name)).find((file) => existsSync(file));

async function importModule(file: string, cwd: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`Could not load ${relative(cwd, file) || file}: ${reason}`, 1, { cause: error });
  }
}

interface ConfigExports {
  catalog?: unknown;
  db?: unknown;
  projections?: unknown;
}

// A config module may export its settings as named exports, as a default object, or default-export the catalog.
function configFrom(module: Record<string, unknown>): ConfigExports {
  const main = module.default;
  if (isCatalog(main)) return { catalog: main, db: module.db, projections: module.projections };
  if (
    typeof main === 'object' &&
    main !== null &&
    !Array.isArray(main) &&
    ('catalog' in main || 'db' in main || 'projections' in main)
  ) {
    return main;
  }
  return module;
}

/** Projections loaded by {@link loadProjections}, with the catalog to read the store's events through. */
export interface LoadedProjections {
  readonly projections: readonly Projection[];
  /** `--catalog`'s, else the projections module's `catalog` export, else the config file's; undefined when none. */
  readonly catalog?: Catalog;
  /** Where the projections came from, for messages: the module as given, or the config file's name. */
  readonly source: string;
}

/** Options of {@link loadProjections}. */
export interface LoadProjectionsOptions {
  /** A module exporting `projections` (named or default), as given to `--projections`; wins over the config file. */
  readonly projections?: string | undefined;
  /** A module exporting `catalog`, as given to `--catalog`: the catalog events are read through. */
  readonly catalog?: string | undefined;
  /** The directory the module paths and the config file are resolved from. */
  readonly cwd: string;
}

/** How to name the projections, for error texts. */
export const PASS_PROJECTIONS =
  'pass --projections <module> (the path of a JS/ESM module that exports `projections`, an array of ' +
  'defineProjection() results), or export `projections` from tidings.config.js';

/**
 * Loads the user's projections from `--projections <module>` or, failing that, from the `projections`
 * export of `tidings.config.js` (or `.mjs`), with the catalog the store's events are read through.
 *
 * @returns undefined when neither names any projections.
 * @throws CliError with exit code 2 when the module does not exist or exports no projections, and exit
 * code 1 when a module fails to load.
 *
 * @example
 * const loaded = await loadProjections({ projections: './dist/projections.js', cwd: process.cwd() });
 * console.log(loaded?.projections.map((projection) => projection.name));
 */
export async function loadProjections(
  options: LoadProjectionsOptions,
): Promise<LoadedProjections | undefined> {
  const configFile = findConfigFile(options.cwd);
  const config =
    configFile === undefined ? undefined : configFrom(await importModule(configFile, options.cwd));
  let found: { projections: readonly Projection[]; catalog: unknown; source: string } | undefined;

  if (options.projections !== undefined) {
    const file = resolve(options.cwd, options.projections);
    if (!existsSync(file)) {
      throw usageError(
        `Projections module not found: ${options.projections} (looked at ${file}); ${PASS_PROJECTIONS}.`,
      );
    }
    const module = await importModule(file, options.cwd);
    const source = options.projections;
    const projections = module.projections ?? module.default;
    if (projections === undefined) {
      throw usageError(
        `${source} does not export projections: export an array of defineProjection() results as \`projections\` or as the default export.`,
      );
    }
    found = { projections: checkedProjections(source, projections), catalog: module.catalog, source };
  } else if (config?.projections !== undefined && configFile !== undefined) {
    const source = relative(options.cwd, configFile);
    found = { projections: checkedProjections(source, config.projections), catalog: undefined, source };
  }
  if (found === undefined) return undefined;

  const catalog =
    options.catalog !== undefined
      ? (await loadConfig({ catalog: options.catalog, cwd: options.cwd })).catalog
      : [found.catalog, config?.catalog].find(isCatalog);
  return {
    projections: found.projections,
    ...(catalog === undefined ? {} : { catalog }),
    source: found.source,
  };
}

// Checked by shape: the projections come from the user's own copy of @tidings/core.
function checkedProjections(source: string, value: unknown): readonly Projection[] {
  const fix = 'export an array of defineProjection() results as `projections`';
  if (!Array.isArray(value) || value.length === 0) {
    throw usageError(`${source} exports no projections (got ${describe(value)}): ${fix}.`);
  }
  const problems: string[] = [];
  const names = new Set<string>();
  for (const [index, entry] of (value as unknown[]).entries()) {
    const candidate = entry as Partial<Record<keyof Projection, unknown>> | null | undefined;
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      typeof candidate.name !== 'string' ||
      typeof candidate.version !== 'number' ||
      !Array.isArray(candidate.types) ||
      typeof candidate.apply !== 'function'
    ) {
      problems.push(`projections[${index}] is ${describe(entry)}, not a defineProjection() result`);
    } else if (names.has(candidate.name)) {
      problems.push(`two projections are named "${candidate.name}"`);
    } else names.add(candidate.name);
  }
  if (problems.length > 0) throw usageError(`${source}: ${problems.join('; ')}; ${fix}.`);
  return value as readonly Projection[];
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'object':
      return 'an object';
    case 'function':
      return 'a function';
    case 'bigint':
    case 'symbol':
      return `a ${typeof value}`;
    default:
      // A string, number, boolean or undefined, as it would be written in the module.
      return JSON.stringify(value) ?? 'undefined';
  }
}

// Checked by shape, not instanceof: the user's catalog comes from their own copy of @tidings/core.
function isCatalog(value: unknown): value is Catalog {
  const candidate = value as Partial<Record<keyof Catalog, unknown>> | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.title === 'string' &&
    Array.isArray(candidate.events) &&
    typeof candidate.entries === 'function' &&
    typeof candidate.get === 'function' &&
    typeof candidate.lint === 'function'
  );
}
