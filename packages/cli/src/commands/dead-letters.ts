import {
  createDeadLetters,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetters,
} from '@tidings/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CommandContext } from '../context.ts';
import { CliError, usageError } from '../errors.ts';
import { formatTable, progressBar } from '../io.ts';
import { formatAge, parseSince } from '../time.ts';
import {
  deadLetterJson,
  describeDeadLetter,
  errorSummary,
  failureGroupJson,
  shortId,
} from './dead-letter-view.ts';

/** The reasons a delivery is dead-lettered, as `--reason` accepts them. */
export const DEAD_LETTER_REASONS = ['exhausted', 'non-retryable', 'invalid', 'crash-loop'] as const;

/** How many dead letters `list` prints unless told otherwise. */
export const DEFAULT_LIST_LIMIT = 50;

const HELP = `
The dead letters come from --transport <url> (postgres://, redis://, nats://, amqp://, sqlite:<file>),
else from --db <file> (the SQLite file of sqliteTransport({ file })) or from db in tidings.config.js. Ids may be given in full or as the short form the tables print.

Exit codes: 0 ok; 1 no such dead letter, nothing matched, or some were gone before replay/discard got
to them; 2 usage error, including a replay/discard with neither an id nor a filter, and a bulk discard
without --yes when stdin is not a terminal.

Examples:
  $ tidings dead-letters list --db shop.db --group payments --since 1h
  $ tidings dead-letters show 3f9c2a1e
  $ tidings dead-letters groups
  $ tidings dead-letters replay --fingerprint 5d41402abc4b --yes
  $ tidings dead-letters discard --type ShipOrder --error "schema" --yes`;

interface FilterOptions {
  group?: string;
  type?: string;
  error?: string;
  fingerprint?: string;
  reason?: DeadLetterRecord['reason'];
  since?: number;
}

interface BulkOptions extends FilterOptions {
  all?: boolean;
  yes?: boolean;
}

/** Adds `tidings dead-letters list | show | replay | discard | groups | depth` to `program`. @internal */
export function registerDeadLetterCommands(program: Command, context: CommandContext): void {
  const { colors, print } = context;
  const group = program
    .command('dead-letters')
    .description('list, inspect, replay and discard failed deliveries')
    .addHelpText('after', HELP);

  /** Runs `use` on the dead letters of the database, and closes it whatever happens. */
  const withDeadLetters = async (use: (deadLetters: DeadLetters) => Promise<void>): Promise<void> => {
    const transport = await context.transport();
    try {
      await use(createDeadLetters(transport.deadLetters));
    } finally {
      await transport.close();
    }
  };

  filterOptions(group.command('list'))
    .description('list dead letters, oldest first: id, group, type, reason, attempts, age, error')
    .addOption(
      new Option('--limit <n>', 'print at most this many')
        .argParser(positiveInteger)
        .default(DEFAULT_LIST_LIMIT),
    )
    .option('--json', 'print the dead letters, in full, as JSON')
    .action((options: FilterOptions & { limit: number; json?: boolean }) =>
      withDeadLetters(async (deadLetters) => {
        const filter = filterFrom(options);
        // One more than asked for, to know whether to say that there are more.
        const found = await deadLetters.list({ ...filter, limit: options.limit + 1 });
        const shown = found.slice(0, options.limit);
        if (options.json === true) return print(json(shown.map(deadLetterJson)));
        if (shown.length === 0) return print(nothingMatches(filter));
        const now = Date.now();
        const rows = shown.map((deadLetter) => [
          shortId(deadLetter.id),
          deadLetter.group,
          deadLetter.type,
          deadLetter.reason,
          String(deadLetter.attempts),
          formatAge(now - deadLetter.deadLetteredAt),
          errorSummary(deadLetter.error),
        ]);
        print(formatTable(['ID', 'GROUP', 'TYPE', 'REASON', 'ATTEMPTS', 'AGE', 'ERROR'], rows, colors.bold));
        if (found.length > shown.length) {
          print(colors.dim(`Showing the first ${shown.length}; pass --limit <n> to see more.`));
        }
      }),
    );

  group
    .command('show')
    .description('show one dead letter: the event, its data and headers, the error and its stack')
    .argument('<id>', 'the dead letter id, in full or as the short form `list` prints')
    .option('--json', 'print the dead letter as JSON')
    .action((id: string, options: { json?: boolean }) =>
      withDeadLetters(async (deadLetters) => {
        const deadLetter = await findDeadLetter(deadLetters, id);
        if (options.json === true) return print(json(deadLetterJson(deadLetter)));
        for (const line of describeDeadLetter(deadLetter, colors, Date.now())) print(line);
      }),
    );

  for (const action of ['replay', 'discard'] as const) {
    const past = action === 'replay' ? 'replayed' : 'discarded';
    filterOptions(group.command(action))
      .description(
        action === 'replay'
          ? 'publish dead letters again to their group (one by id, or every one a filter matches)'
          : 'delete dead letters for good (one by id, or every one a filter matches)',
      )
      .argument('[id]', 'one dead letter id, in full or short; or use the filter options instead')
      .option('--all', `${action} every dead letter (instead of an id or filters)`)
      .option('-y, --yes', `${action} without asking first`)
      .action((id: string | undefined, options: BulkOptions) =>
        withDeadLetters(async (deadLetters) => {
          const filter = target(action, id, options);
          if (typeof filter === 'string') {
            const deadLetter = await findDeadLetter(deadLetters, filter);
            const result = await deadLetters[action](deadLetter.id);
            const count = 'replayed' in result ? result.replayed : result.discarded;
            if (count === 0) {
              throw new CliError(`Dead letter ${deadLetter.id} was gone before it could be ${past}.`, 1);
            }
            return print(`${past} ${count}`);
          }

          const matching = (await deadLetters.list(filter)).length;
          if (matching === 0) {
            context.exitCode = 1;
            return print(`${nothingMatches(filter)} Nothing ${past}.`);
          }
          if (options.yes !== true && !(await confirmed(action, matching, filter))) {
            context.exitCode = 1;
            return print(`Nothing ${past}.`);
          }
          const bar = progressBar(context.io, action === 'replay' ? 'replaying' : 'discarding');
          let total = matching;
          const onProgress = (progress: { done: number; total: number }): void => {
            total = progress.total;
            bar.update(progress);
          };
          let count: number;
          try {
            const result = await deadLetters[action](filter, { onProgress });
            count = 'replayed' in result ? result.replayed : result.discarded;
          } finally {
            bar.finish();
          }
          print(`${past} ${count}`);
          if (count < total) {
            context.exitCode = 1;
            context.io.stderr(
              `${colors.yellow(`${total - count} of ${total} dead letters were gone before they could be ${past}`)}` +
                ' (another process replayed or discarded them first).\n',
            );
          }
        }),
      );
  }

  filterOptions(group.command('groups'))
    .description('group failures by fingerprint: count, group/handler, error, types, first and last time')
    .option('--json', 'print the groups as JSON')
    .action((options: FilterOptions & { json?: boolean }) =>
      withDeadLetters(async (deadLetters) => {
        const filter = filterFrom(options);
        const groups = await deadLetters.groups(filter);
        if (options.json === true) return print(json(groups.map(failureGroupJson)));
        if (groups.length === 0) return print(nothingMatches(filter));
        const now = Date.now();
        const rows = groups.map((failure) => [
          failure.fingerprint,
          String(failure.count),
          failure.handler === failure.group ? failure.group : `${failure.group}/${failure.handler}`,
          errorSummary({ name: failure.errorName, message: failure.errorMessage }),
          failure.types.join(', '),
          formatAge(now - failure.firstAt),
          formatAge(now - failure.lastAt),
        ]);
        print(
          formatTable(
            ['FINGERPRINT', 'COUNT', 'GROUP/HANDLER', 'ERROR', 'TYPES', 'FIRST', 'LAST'],
            rows,
            colors.bold,
          ),
        );
      }),
    );

  group
    .command('depth')
    .description('count the dead letters of each group, with the age of the oldest')
    .option('--json', 'print the depths as JSON')
    .action((options: { json?: boolean }) =>
      withDeadLetters(async (deadLetters) => {
        const depth = await deadLetters.depth();
        if (options.json === true) {
          return print(
            json(depth.map((row) => ({ ...row, oldestAt: new Date(row.oldestAt).toISOString() }))),
          );
        }
        if (depth.length === 0) return print('No dead letters.');
        const rows = depth.map((row) => [row.group, String(row.count), formatAge(row.oldestAgeMs)]);
        print(formatTable(['GROUP', 'DEAD LETTERS', 'OLDEST'], rows, colors.bold));
      }),
    );

  /** Asks before a bulk operation when a person is at the terminal; a script must pass --yes to discard. */
  async function confirmed(
    action: 'replay' | 'discard',
    count: number,
    filter: DeadLetterFilter,
  ): Promise<boolean> {
    const what = `${count} dead letter${count === 1 ? '' : 's'} (${describeFilter(filter)})`;
    if (!context.io.stdinIsTTY) {
      if (action === 'replay') return true;
      throw usageError(`Refusing to discard ${what} without confirmation: pass --yes to discard them.`);
    }
    const warning = action === 'discard' ? ' This cannot be undone.' : '';
    const verb = action === 'replay' ? 'Replay' : 'Discard';
    const answer = await context.io.prompt(`${verb} ${what}?${warning} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  }
}

function filterOptions(command: Command): Command {
  return command
    .option('--group <group>', 'only dead letters of this consumer group')
    .option('--type <type>', 'only events of this type')
    .option('--error <text>', 'only errors whose "Name: message" contains this text')
    .option('--fingerprint <fingerprint>', 'only failures with this fingerprint (see `dead-letters groups`)')
    .addOption(
      new Option('--reason <reason>', 'only dead letters with this reason').choices(DEAD_LETTER_REASONS),
    )
    .addOption(
      new Option(
        '--since <when>',
        'only dead letters since an ISO 8601 time, or for a duration back (30m, 1h, 2d)',
      ).argParser((text: string) => parseSince(text)),
    );
}

function filterFrom(options: FilterOptions): DeadLetterFilter {
  return {
    ...(options.group === undefined ? {} : { group: options.group }),
    ...(options.type === undefined ? {} : { type: options.type }),
    ...(options.error === undefined ? {} : { error: options.error }),
    ...(options.fingerprint === undefined ? {} : { fingerprint: options.fingerprint }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.since === undefined ? {} : { since: options.since }),
  };
}

/** An id, or the filter of a bulk operation; refuses an operation on nothing in particular. */
function target(
  action: 'replay' | 'discard',
  id: string | undefined,
  options: BulkOptions,
): string | DeadLetterFilter {
  const filter = filterFrom(options);
  const filtered = Object.keys(filter).length > 0;
  if (id !== undefined) {
    if (filtered || options.all === true) {
      throw usageError(`Pass either a dead letter id or filter options to ${action}, not both.`);
    }
    return id;
  }
  if (!filtered && options.all !== true) {
    throw usageError(
      `Say which dead letters to ${action}: pass an id, or filter them with --group, --type, --error, ` +
        `--fingerprint, --reason or --since (--all for every one).`,
    );
  }
  return filter;
}

const MIN_FRAGMENT = 4;

/** Finds a dead letter by its full id, or by the start or end of it when that names exactly one. */
async function findDeadLetter(deadLetters: DeadLetters, given: string): Promise<DeadLetter> {
  const exact = await deadLetters.get(given);
  if (exact !== undefined) return exact;
  const fragment = given.toLowerCase();
  const matches =
    fragment.length < MIN_FRAGMENT
      ? []
      : (await deadLetters.list()).filter((deadLetter) => {
          const id = deadLetter.id.toLowerCase();
          return id.startsWith(fragment) || id.endsWith(fragment);
        });
  if (matches.length > 1) {
    const ids = matches.slice(0, 5).map((deadLetter) => deadLetter.id);
    throw usageError(
      `"${given}" matches ${matches.length} dead letters (${ids.join(', ')}${matches.length > 5 ? ', …' : ''}); ` +
        'pass more of the id.',
    );
  }
  const [found] = matches;
  if (found === undefined) {
    throw new CliError(`No dead letter "${given}"; run \`tidings dead-letters list\` to see their ids.`, 1);
  }
  return found;
}

function describeFilter(filter: DeadLetterFilter): string {
  const parts = Object.entries(filter).map(([name, value]) => {
    if (name === 'since') return `since ${new Date(value as number).toISOString()}`;
    return name === 'error' ? `error contains ${JSON.stringify(value)}` : `${name} ${String(value)}`;
  });
  return parts.length === 0 ? 'all of them' : parts.join(', ');
}

const nothingMatches = (filter: DeadLetterFilter): string =>
  Object.keys(filter).length === 0 ? 'No dead letters.' : `No dead letters match ${describeFilter(filter)}.`;

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError('Pass a whole number of 1 or more.');
  return value;
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);
