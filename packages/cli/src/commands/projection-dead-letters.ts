import {
  createDeadLetters,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetters,
  type DeadLetterStorage,
  type EventStore,
  type Projection,
  projectionDeadLetterStorage,
} from '@tidings/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type LoadedProjections, PASS_PROJECTIONS } from '../config.ts';
import type { CommandContext, StoreOptions } from '../context.ts';
import { CliError, usageError } from '../errors.ts';
import { formatTable, progressBar } from '../io.ts';
import { deadLetterJson, describeDeadLetter, errorSummary } from './dead-letter-view.ts';
import { DEAD_LETTER_COLUMNS, deadLetterRow, streamName } from './projection-view.ts';

/** How many dead letters `projections dead-letters list` prints unless told otherwise. */
export const DEFAULT_PROJECTION_LIST_LIMIT = 50;

const HELP = `
A projection's dead letters are the events its apply threw on, and the later events of the same stream,
held back ("paused") so that the stream is applied in order. Replaying one applies it again with the
projection's code (--projections), then the events held behind it; discarding skips it for good.

Exit codes: 0 ok; 1 no such dead letter, nothing matched, or a replay failed again; 2 usage error,
including a replay without the projections' code and a bulk discard without --yes off a terminal.

Examples:
  $ tidings projections dead-letters list --projection orders-by-status
  $ tidings projections dead-letters show orders-by-status@1:0000000000000042
  $ tidings projections dead-letters replay --projection orders-by-status --projections ./dist/projections.js
  $ tidings projections dead-letters discard --all --yes`;

interface BulkOptions {
  projection?: string;
  all?: boolean;
  yes?: boolean;
}

/** What a command works on: the dead letters, their raw storage, and the projections' code when loaded. */
interface Handle {
  readonly deadLetters: DeadLetters;
  readonly storage: DeadLetterStorage;
}

/** Runs `use` on the store, and closes it whatever happens. @internal */
export async function withStore<T>(
  context: CommandContext,
  options: StoreOptions,
  use: (store: EventStore) => Promise<T>,
): Promise<T> {
  const store = await context.store(options);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Adds `dead-letters list | show | replay | discard` to the `projections` command. @internal */
export function registerProjectionDeadLetterCommands(projections: Command, context: CommandContext): void {
  const { colors, print } = context;
  const group = projections
    .command('dead-letters')
    .description('list, inspect, replay and discard the events projections failed on')
    .addHelpText('after', HELP);

  /** Opens the store's projection dead letters; with `loaded`, replay can run their code. */
  const withDeadLetters = (
    loaded: LoadedProjections | undefined,
    use: (handle: Handle) => Promise<void>,
  ): Promise<void> => {
    const options: StoreOptions = loaded === undefined ? {} : { catalog: loaded.catalog };
    return withStore(context, options, async (store) => {
      const storage = projectionDeadLetterStorage(store, { projections: loaded?.projections });
      await use({ deadLetters: createDeadLetters(storage), storage });
    });
  };

  group
    .command('list')
    .description('list dead letters, oldest first: id, stream, type, reason, age, error')
    .option('--projection <name>', 'only the dead letters of this projection')
    .addOption(
      new Option('--limit <n>', 'print at most this many')
        .argParser(positiveInteger)
        .default(DEFAULT_PROJECTION_LIST_LIMIT),
    )
    .option('--json', 'print the dead letters, in full, as JSON')
    .action((options: { projection?: string; limit: number; json?: boolean }) =>
      withDeadLetters(undefined, async ({ deadLetters }) => {
        const filter = filterOf(options);
        const found = await deadLetters.list({ ...filter, limit: options.limit + 1 });
        const shown = found.slice(0, options.limit);
        if (options.json === true) return print(JSON.stringify(shown.map(deadLetterJson), null, 2));
        if (shown.length === 0) return print(nothingMatches(filter));
        const now = Date.now();
        print(
          formatTable(
            [...DEAD_LETTER_COLUMNS],
            shown.map((d) => deadLetterRow(d, now)),
            colors.bold,
          ),
        );
        if (found.length > shown.length) {
          print(colors.dim(`Showing the first ${shown.length}; pass --limit <n> to see more.`));
        }
      }),
    );

  group
    .command('show')
    .description('show one dead letter: the projection, the event and its data, the error and its stack')
    .argument('<id>', 'the dead letter id as `list` prints it (or enough of its start or end)')
    .option('--json', 'print the dead letter as JSON')
    .action((id: string, options: { json?: boolean }) =>
      withDeadLetters(undefined, async ({ deadLetters }) => {
        const deadLetter = await findDeadLetter(deadLetters, id);
        if (options.json === true) return print(JSON.stringify(deadLetterJson(deadLetter), null, 2));
        for (const line of describeDeadLetter(deadLetter, colors, Date.now())) print(line);
      }),
    );

  bulkOptions(group.command('replay'), 'replay')
    .description('apply dead letters again with the projection’s code, then the events held behind them')
    .action(async (id: string | undefined, options: BulkOptions) => {
      const filter = target('replay', id, options);
      const loaded = await context.projections();
      if (loaded === undefined) {
        throw usageError(
          `Replaying applies the events again, so it needs the projections' code: ${PASS_PROJECTIONS}.`,
        );
      }
      await withDeadLetters(loaded, async ({ deadLetters, storage }) => {
        // In id order, which is projection then global position: a stream's held events after its first.
        const selected =
          typeof filter === 'string'
            ? [await findDeadLetter(deadLetters, filter)]
            : [...(await deadLetters.list(filter))].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        if (selected.length === 0) {
          context.exitCode = 1;
          return print(`${nothingMatches(filter as DeadLetterFilter)} Nothing replayed.`);
        }
        checkCode(selected, loaded);
        if (typeof filter !== 'string' && options.yes !== true && context.io.stdinIsTTY) {
          if (!(await ask(`Replay ${count(selected.length)} (${describe(filter)})? [y/N] `))) {
            context.exitCode = 1;
            return print('Nothing replayed.');
          }
        }
        await replay(selected, deadLetters, storage, typeof filter === 'string');
      });
    });

  bulkOptions(group.command('discard'), 'discard')
    .description('delete dead letters for good: their events stay unapplied')
    .action((id: string | undefined, options: BulkOptions) =>
      withDeadLetters(undefined, async ({ deadLetters }) => {
        const filter = target('discard', id, options);
        if (typeof filter === 'string') {
          const deadLetter = await findDeadLetter(deadLetters, filter);
          const { discarded } = await deadLetters.discard(deadLetter.id);
          if (discarded === 0)
            throw new CliError(`Dead letter ${deadLetter.id} was gone before it could be discarded.`, 1);
          print('discarded 1');
          const held = (await deadLetters.list({ group: deadLetter.group })).filter(
            (other) => streamName(other) === streamName(deadLetter),
          );
          if (held.length > 0) {
            print(
              colors.dim(
                `Stream ${streamName(deadLetter)} still has ${count(held.length)} held behind; it stays paused ` +
                  `for ${deadLetter.group} until none is left.`,
              ),
            );
          }
          return;
        }
        const matching = (await deadLetters.list(filter)).length;
        if (matching === 0) {
          context.exitCode = 1;
          return print(`${nothingMatches(filter)} Nothing discarded.`);
        }
        if (options.yes !== true) {
          const what = `${count(matching)} (${describe(filter)})`;
          if (!context.io.stdinIsTTY) {
            throw usageError(`Refusing to discard ${what} without confirmation: pass --yes to discard them.`);
          }
          if (!(await ask(`Discard ${what}? Their events will never be applied. [y/N] `))) {
            context.exitCode = 1;
            return print('Nothing discarded.');
          }
        }
        const bar = progressBar(context.io, 'discarding');
        let discarded: number;
        try {
          ({ discarded } = await deadLetters.discard(filter, { onProgress: (p) => bar.update(p) }));
        } finally {
          bar.finish();
        }
        print(`discarded ${discarded}`);
      }),
    );

  const ask = async (question: string): Promise<boolean> =>
    /^y(es)?$/i.test((await context.io.prompt(question)).trim());

  /**
   * Replays the selected dead letters in order. A replay also applies the events held behind it, so
   * those are skipped when their turn comes; after a failure, the rest of that stream is left waiting.
   */
  async function replay(
    selected: readonly DeadLetter[],
    deadLetters: DeadLetters,
    storage: DeadLetterStorage,
    single: boolean,
  ): Promise<void> {
    // Everything a replay may clear: the dead letters of the projections involved.
    const scope = new Set<string>();
    for (const name of new Set(selected.map((d) => d.group))) {
      for (const d of await deadLetters.list({ group: name })) scope.add(d.id);
    }
    const failures: string[] = [];
    const stuck = new Set<string>();
    const bar = progressBar(context.io, 'replaying');
    try {
      for (const [index, deadLetter] of selected.entries()) {
        const stream = `${deadLetter.group}\n${streamName(deadLetter)}`;
        if (!stuck.has(stream) && (await storage.get(deadLetter.id)) !== undefined) {
          try {
            await storage.replay(deadLetter.id);
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            if (single) throw new CliError(message, 1, { cause: error });
            failures.push(message);
            stuck.add(stream);
          }
        }
        bar.update({ done: index + 1, total: selected.length });
      }
    } finally {
      bar.finish();
    }
    let replayed = 0;
    for (const id of scope) if ((await storage.get(id)) === undefined) replayed += 1;
    print(`replayed ${replayed}`);
    if (failures.length > 0) {
      context.exitCode = 1;
      const shown = failures.slice(0, 5).map((message) => `  ${errorSummary({ name: '', message }, 160)}`);
      context.io.stderr(
        `${colors.yellow(`${failures.length} failed again and stay in the dead letters`)} (with what waits behind them):\n` +
          `${shown.join('\n')}${failures.length > 5 ? '\n  …' : ''}\n`,
      );
    }
  }
}

function bulkOptions(command: Command, action: 'replay' | 'discard'): Command {
  return command
    .argument('[id]', 'one dead letter id; or use --projection or --all instead')
    .option('--projection <name>', `${action} the dead letters of this projection`)
    .option('--all', `${action} every projection dead letter`)
    .option('-y, --yes', `${action} without asking first`);
}

const filterOf = (options: { projection?: string }): DeadLetterFilter =>
  options.projection === undefined ? {} : { group: options.projection };

/** An id, or the filter of a bulk operation; refuses an operation on nothing in particular. */
function target(
  action: 'replay' | 'discard',
  id: string | undefined,
  options: BulkOptions,
): string | DeadLetterFilter {
  const bulk = options.all === true || options.projection !== undefined;
  if (id !== undefined && bulk) {
    throw usageError(`Pass either a dead letter id or --projection/--all to ${action}, not both.`);
  }
  if (id === undefined && !bulk) {
    throw usageError(
      `Say which dead letters to ${action}: pass an id, --projection <name> for one projection's, or --all.`,
    );
  }
  return id ?? filterOf(options);
}

/** Refuses to replay dead letters of projections (or versions) the loaded module does not define. */
function checkCode(selected: readonly DeadLetter[], loaded: LoadedProjections): void {
  const missing = new Set<string>();
  for (const deadLetter of selected) {
    const version = versionOf(deadLetter.id);
    const code = loaded.projections.find((p: Projection) => p.name === deadLetter.group);
    if (code === undefined || code.version !== version) missing.add(`${deadLetter.group} v${version}`);
  }
  if (missing.size > 0) {
    const defined = loaded.projections.map((p) => `${p.name} v${p.version}`).join(', ');
    throw usageError(
      `Cannot replay dead letters of ${[...missing].join(', ')}: ${loaded.source} defines ${defined}. ` +
        'Pass the module of the version the dead letters belong to, or discard them.',
    );
  }
}

// Projection dead letter ids are `name@version:position`.
const versionOf = (id: string): number => Number(/^[^@]+@(\d+):/.exec(id)?.[1] ?? Number.NaN);

const MIN_FRAGMENT = 4;

/** Finds a dead letter by its full id, or by the start or end of it when that names exactly one. */
async function findDeadLetter(deadLetters: DeadLetters, given: string): Promise<DeadLetter> {
  const exact = await deadLetters.get(given);
  if (exact !== undefined) return exact;
  const matches =
    given.length < MIN_FRAGMENT
      ? []
      : (await deadLetters.list()).filter((d) => d.id.startsWith(given) || d.id.endsWith(given));
  if (matches.length > 1) {
    const ids = matches.slice(0, 5).map((d) => d.id);
    throw usageError(
      `"${given}" matches ${matches.length} dead letters (${ids.join(', ')}${matches.length > 5 ? ', …' : ''}); ` +
        'pass more of the id.',
    );
  }
  const [found] = matches;
  if (found === undefined) {
    throw new CliError(
      `No projection dead letter "${given}"; run \`tidings projections dead-letters list\` to see their ids.`,
      1,
    );
  }
  return found;
}

const count = (n: number): string => `${n} dead letter${n === 1 ? '' : 's'}`;

const describe = (filter: DeadLetterFilter): string =>
  filter.group === undefined ? 'every projection' : `projection ${filter.group}`;

const nothingMatches = (filter: DeadLetterFilter): string =>
  filter.group === undefined
    ? 'No projection dead letters.'
    : `No dead letters for projection ${filter.group}.`;

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError('Pass a whole number of 1 or more.');
  return value;
}
