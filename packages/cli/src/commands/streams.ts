import type { EventStore, ListedStream, ReadStreamOptions, StreamBound } from '@tidings/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CommandContext } from '../context.ts';
import { usageError } from '../errors.ts';
import { formatTable } from '../io.ts';
import { formatAge } from '../time.ts';
import { EVENT_COLUMNS, describeStream, eventRow, parseAsOf, streamState } from './stream-view.ts';

/** How many streams `streams list` prints unless told otherwise. */
export const DEFAULT_STREAM_LIMIT = 50;
/** How many events `streams read` prints unless told otherwise. */
export const DEFAULT_EVENT_LIMIT = 100;

const HELP = `
The streams come from --store <url> (sqlite:<file> or postgres://host/db?schema=tidings), else from
$TIDINGS_STORE_URL, else from --db <file> or db in tidings.config.js (a SQLite file holding the store).
Events are shown as stored, before any upcasting.

Exit codes: 0 ok; 1 the store failed; 2 usage error, including an unknown stream and a bad --as-of.

Examples:
  $ tidings streams list --store sqlite:shop.db --prefix order-
  $ tidings streams read order-42 --store postgres://127.0.0.1/shop?schema=tidings
  $ tidings streams read order-42 --as-of v3
  $ tidings streams read order-42 --as-of 2025-11-26T10:00:00Z --json
  $ tidings streams read order-42 --backward --limit 5`;

interface ListOptions {
  prefix?: string;
  after?: string;
  limit: number;
  json?: boolean;
}

interface ReadOptions {
  asOf?: StreamBound;
  from?: number;
  backward?: boolean;
  limit: number;
  json?: boolean;
}

/** Adds `tidings streams list | read` to `program`. @internal */
export function registerStreamCommands(program: Command, context: CommandContext): void {
  const { colors, print } = context;
  const group = program
    .command('streams')
    .description('list the event store’s streams and read one, as of a version or a time')
    .addHelpText('after', HELP);

  /** Runs `use` on the store, and closes it whatever happens. */
  const withStore = async (use: (store: EventStore) => Promise<void>): Promise<void> => {
    const store = await context.store();
    try {
      await use(store);
    } finally {
      await store.close();
    }
  };

  group
    .command('list')
    .description('list streams by name: version, last recorded, state (deleted, tombstoned, truncated)')
    .option('--prefix <text>', 'only streams whose names start with this')
    .option('--after <stream>', 'only streams after this name (the next page)')
    .addOption(
      new Option('--limit <n>', 'print at most this many')
        .argParser(positiveInteger)
        .default(DEFAULT_STREAM_LIMIT),
    )
    .option('--json', 'print the page as JSON: { streams, next }')
    .action((options: ListOptions) =>
      withStore(async (store) => {
        const page = await store.listStreams({
          limit: options.limit,
          ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
          ...(options.after === undefined ? {} : { after: options.after }),
        });
        if (options.json === true) return print(json(page));
        if (page.streams.length === 0) {
          return print(
            options.prefix === undefined ? 'No streams.' : `No streams start with "${options.prefix}".`,
          );
        }
        const now = Date.now();
        const rows = page.streams.map((stream) => [
          stream.stream,
          String(stream.version),
          lastRecorded(stream, now),
          streamState(stream),
        ]);
        print(formatTable(['STREAM', 'VERSION', 'LAST RECORDED', 'STATE'], rows, colors.bold));
        if (page.next !== undefined) {
          print(colors.dim(`More streams follow: pass --after ${JSON.stringify(page.next)} to list them.`));
        }
      }),
    );

  group
    .command('read')
    .description('read one stream: its metadata, then each event’s version, type, time, position and data')
    .argument('<stream>', 'the stream name, exactly as `streams list` prints it')
    .addOption(
      new Option(
        '--as-of <when>',
        'as of a version (12 or v12) or a time (ISO 8601, or 15m, 1h, 2d ago)',
      ).argParser((text: string) => parseAsOf(text)),
    )
    .addOption(
      new Option(
        '--from <n>',
        'start at this version (forward: the lowest; backward: the highest)',
      ).argParser(nonNegativeInteger),
    )
    .option('--backward', 'newest first')
    .addOption(
      new Option('--limit <n>', 'print at most this many events')
        .argParser(positiveInteger)
        .default(DEFAULT_EVENT_LIMIT),
    )
    .option('--json', 'print the stream and its events, in full, as JSON')
    .action((name: string, options: ReadOptions) =>
      withStore(async (store) => {
        const stream = await findStream(store, name);
        const read: ReadStreamOptions = {
          direction: options.backward === true ? 'backward' : 'forward',
          // One more than asked for, to know where the next page starts.
          limit: options.limit + 1,
          ...(options.from === undefined ? {} : { from: options.from }),
          ...(options.asOf === undefined ? {} : { until: options.asOf }),
        };
        const { events: found } = await store.readStream(name, read);
        const events = found.slice(0, options.limit);
        const last = events[events.length - 1];
        const next =
          found.length > options.limit && last !== undefined
            ? last.streamVersion + (options.backward === true ? -1 : 1)
            : undefined;
        if (options.json === true) {
          const asOf = options.asOf === undefined ? undefined : jsonBound(options.asOf);
          return print(json({ stream, ...(asOf === undefined ? {} : { asOf }), events, next }));
        }
        for (const line of describeStream(stream, options.asOf, colors, Date.now())) print(line);
        print('');
        if (events.length === 0) return print(nothingToShow(stream, options));
        print(formatTable([...EVENT_COLUMNS], events.map(eventRow), colors.bold));
        if (next !== undefined) {
          print(colors.dim(`Showing ${events.length}; pass --from ${next} to read on.`));
        }
      }),
    );
}

/**
 * The stream named `name`, with its metadata and last recording time: the first stream whose name
 * starts with `name` is `name` itself when it exists, since no longer name sorts before it.
 *
 * @throws CliError exit code 2 when the store never held an event of it, naming streams that start so.
 */
async function findStream(store: EventStore, name: string): Promise<ListedStream> {
  const { streams } = await store.listStreams({ prefix: name, limit: 5 });
  const [first] = streams;
  if (first?.stream === name) return first;
  const similar =
    streams.length === 0
      ? ''
      : ` Streams that start with "${name}": ${streams.map((stream) => stream.stream).join(', ')}.`;
  throw usageError(
    `No stream "${name}" in the store: nothing was ever appended to it.${similar} ` +
      'Run `tidings streams list` to see the streams (check --store).',
  );
}

function nothingToShow(stream: ListedStream, options: ReadOptions): string {
  if (stream.tombstoned || stream.deleted) {
    return `No events to show: the stream was ${stream.tombstoned ? 'tombstoned' : 'deleted'}.`;
  }
  if (options.asOf !== undefined) return 'No events to show as of then: the stream began later.';
  return `No events to show from version ${options.from ?? 1} on.`;
}

const lastRecorded = (stream: ListedStream, now: number): string =>
  stream.lastRecordedAt === undefined
    ? '-'
    : `${stream.lastRecordedAt} (${formatAge(now - Date.parse(stream.lastRecordedAt))} ago)`;

const jsonBound = (bound: StreamBound): { version: number } | { time: string } =>
  'version' in bound ? { version: bound.version } : { time: new Date(bound.time).toISOString() };

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError('Pass a whole number of 1 or more.');
  return value;
}

function nonNegativeInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError('Pass a stream version: a whole number of 0 or more.');
  }
  return value;
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);
