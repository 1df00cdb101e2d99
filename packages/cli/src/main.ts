import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { registerCatalogCommands } from './commands/catalog.ts';
import { registerDeadLetterCommands } from './commands/dead-letters.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerProjectionCommands } from './commands/projections.ts';
import { registerStreamCommands } from './commands/streams.ts';
import { type LoadedProjections, loadConfig, loadProjections, type TidingsConfig } from './config.ts';
import type { CommandContext } from './context.ts';
import { resolveDatabaseFile } from './database.ts';
import { CliError } from './errors.ts';
import { type CliIo, resolveIo } from './io.ts';
import { openStoreUrl, STORE_URL_FORMS } from './store-url.ts';
import { openTransportUrl, TRANSPORT_URL_FORMS } from './transport-url.ts';

// Read at run time so `tidings --version` always matches the installed package, from src/ or dist/.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const HELP_FOOTER = `
Exit codes: 0 ok, 1 findings or failures, 2 usage error.

The catalog comes from --catalog <module> (a JS/ESM module exporting \`catalog\`) or from
tidings.config.js / tidings.config.mjs in the current directory (exporting { catalog, db }).
The dead letters and doctor checks come from --transport <url> (any broker), or from --db <file>
(the SQLite file of sqliteTransport({ file })) or that db. The streams and projections come from
--store <url> (sqlite:<file> or postgres://…), or from that same --db; the projections' code from
--projections <module> or the projections export of tidings.config.js.

Examples:
  $ tidings catalog list --catalog ./dist/catalog.js
  $ tidings catalog export --format asyncapi --out asyncapi.json
  $ tidings dead-letters list --db shop.db --since 1h
  $ tidings dead-letters replay --group payments --type OrderPlaced --yes
  $ tidings dead-letters groups --transport redis://127.0.0.1:6379?prefix=shop
  $ tidings doctor --transport postgres://127.0.0.1/shop?schema=tidings
  $ tidings streams list --store sqlite:shop.db --prefix order-
  $ tidings streams read order-42 --as-of 1h
  $ tidings projections status --store sqlite:shop.db
  $ tidings projections rebuild orders-by-status --projections ./dist/projections.js --yes`;

/**
 * Runs the `tidings` command line and resolves to its exit code: 0 ok, 1 findings or failures,
 * 2 usage error. Never exits the process and never throws.
 *
 * @example
 * process.exitCode = await main(process.argv);
 * // in a test, capturing the output:
 * const out: string[] = [];
 * const code = await main(['node', 'tidings', 'catalog', 'lint'], { stdout: (t) => out.push(t) });
 */
export async function main(argv: readonly string[], io?: Partial<CliIo>): Promise<number> {
  const resolved = resolveIo(io, argv);
  const colors = pc.createColors(resolved.color);
  const verbose = argv.includes('--verbose');

  const program = new Command('tidings')
    .description(
      'Inspect and operate a Tidings system: its event catalog, dead letters, broker, streams and projections.',
    )
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .option('--catalog <module>', 'a JS/ESM module exporting `catalog` (default: from tidings.config.js)')
    .option(
      '--db <file>',
      'the SQLite database of sqliteTransport({ file }) (default: db from tidings.config.js)',
    )
    .option(
      '--transport <url>',
      `the broker the dead letters and doctor commands read: ${TRANSPORT_URL_FORMS} ` +
        '(default: $TIDINGS_TRANSPORT_URL, else the SQLite --db)',
    )
    .option(
      '--store <url>',
      `the event store the streams and projections commands read: ${STORE_URL_FORMS} ` +
        '(default: $TIDINGS_STORE_URL, else the SQLite --db)',
    )
    .option(
      '--projections <module>',
      'a JS/ESM module exporting `projections`, an array of defineProjection() results (default: from tidings.config.js)',
    )
    .option('--verbose', 'print stack traces of errors')
    .option('--no-color', 'print without colours')
    .addHelpText('after', HELP_FOOTER)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: resolved.stdout,
      writeErr: resolved.stderr,
      outputError: (text, write) => write(colors.red(text)),
    });

  let loaded: Promise<TidingsConfig> | undefined;
  let database: Promise<string> | undefined;
  let projections: Promise<LoadedProjections | undefined> | undefined;
  const context: CommandContext = {
    io: resolved,
    colors,
    print: (text) => resolved.stdout(`${text}\n`),
    config: () => {
      loaded ??= loadConfig({ catalog: program.opts<{ catalog?: string }>().catalog, cwd: resolved.cwd });
      return loaded;
    },
    database: () => {
      database ??= resolveDatabaseFile({ db: program.opts<{ db?: string }>().db, cwd: resolved.cwd });
      return database;
    },
    transport: async () => {
      const url = program.opts<{ transport?: string }>().transport ?? resolved.env.TIDINGS_TRANSPORT_URL;
      if (url !== undefined && url !== '') return openTransportUrl(url);
      return openTransportUrl(`sqlite:${await context.database()}`);
    },
    store: async (options = {}) => {
      const extra = {
        ...(options.catalog === undefined ? {} : { catalog: options.catalog }),
        ...(options.projections === undefined ? {} : { projections: options.projections }),
      };
      const url = program.opts<{ store?: string }>().store ?? resolved.env.TIDINGS_STORE_URL;
      if (url !== undefined && url !== '') return openStoreUrl(url, resolved.cwd, extra);
      return openStoreUrl(`sqlite:${await context.database()}`, resolved.cwd, extra);
    },
    projections: () => {
      const { projections: module, catalog } = program.opts<{ projections?: string; catalog?: string }>();
      projections ??= loadProjections({ projections: module, catalog, cwd: resolved.cwd });
      return projections;
    },
    exitCode: 0,
  };
  registerCatalogCommands(program, context);
  registerDeadLetterCommands(program, context);
  registerDoctorCommand(program, context);
  registerStreamCommands(program, context);
  registerProjectionCommands(program, context);

  try {
    await program.parseAsync([...argv], { from: 'node' });
    return context.exitCode;
  } catch (error) {
    // Commander has already printed its message (or the help / version text it was asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    reportError(error, resolved, colors, verbose);
    return error instanceof CliError ? error.exitCode : 1;
  }
}

function reportError(error: unknown, io: CliIo, colors: CommandContext['colors'], verbose: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`${colors.red(`error: ${message}`)}\n`);
  // The stack, the cause chain and any structured fields (a TidingsError's code and details).
  if (verbose) io.stderr(`${inspect(error, { colors: io.color, depth: 5 })}\n`);
}
