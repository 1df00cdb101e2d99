import {
  type EventStore,
  type Projection,
  type ProjectionState,
  type ProjectionStore,
  projectionStatus,
  runProjections,
} from '@tidings/core';
import type { Command } from 'commander';
import { type LoadedProjections, PASS_PROJECTIONS } from '../config.ts';
import type { CommandContext } from '../context.ts';
import { CliError, usageError } from '../errors.ts';
import { formatTable } from '../io.ts';
import { registerProjectionDeadLetterCommands, withStore } from './projection-dead-letters.ts';
import {
  type BuildProgress,
  formatDuration,
  rebuildReporter,
  STATUS_COLUMNS,
  stateJson,
  stateRow,
} from './projection-view.ts';

const HELP = `
The projections' state comes from --store <url> (sqlite:<file> or postgres://host/db?schema=tidings), else
from $TIDINGS_STORE_URL, else from --db <file> or db in tidings.config.js. Their code, which rebuild and
dead-letters replay run, comes from --projections <module> (exporting \`projections\`, an array of
defineProjection() results) or the projections export of tidings.config.js; the events are read through
--catalog, else the catalog that module or the config file exports, else as stored.

Exit codes: 0 ok; 1 the store failed, a rebuild sent events to the dead letters, or a replay failed again;
2 usage error, including an unknown projection, no projections module, and a rebuild or bulk discard
without --yes when stdin is not a terminal.

Examples:
  $ tidings projections status --store sqlite:shop.db
  $ tidings projections rebuild orders-by-status --projections ./dist/projections.js
  $ tidings projections dead-letters list --projection orders-by-status
  $ tidings projections dead-letters replay --all --projections ./dist/projections.js --yes`;

/** Adds `tidings projections status | rebuild | dead-letters` to `program`. @internal */
export function registerProjectionCommands(program: Command, context: CommandContext): void {
  const { colors, print } = context;
  const group = program
    .command('projections')
    .description('show the projections’ state, rebuild one, and handle their dead letters')
    .addHelpText('after', HELP);

  group
    .command('status')
    .description(
      'every version of every projection: status, mode, events applied and dead-lettered, position',
    )
    .option('--json', 'print the states as JSON')
    .action((options: { json?: boolean }) =>
      withStore(context, {}, async (store) => {
        const states = await projectionStatus(store);
        // Progress needs the event types, which only the code knows; status works without it.
        const loaded = await context.projections();
        const progress = await Promise.all(states.map((state) => buildProgress(store, state, loaded)));
        if (options.json === true) {
          return print(
            JSON.stringify(
              states.map((state, i) => stateJson(state, progress[i])),
              null,
              2,
            ),
          );
        }
        if (states.length === 0) print('No projections in the store yet.');
        else {
          const now = Date.now();
          const rows = states.map((state, i) => stateRow(state, progress[i], colors, now));
          print(formatTable([...STATUS_COLUMNS], rows, colors.bold));
        }
        const unbuilt = (loaded?.projections ?? []).filter(
          (p) => !states.some((state) => state.name === p.name && state.version === p.version),
        );
        if (unbuilt.length > 0) {
          const names = unbuilt.map((p) => `${p.name} v${p.version}`).join(', ');
          print(colors.dim(`Not in the store yet: ${names} (built when first run).`));
        }
      }),
    );

  group
    .command('rebuild')
    .description('empty a projection’s read model and apply every event again, here and now')
    .argument('<name>', 'the projection’s name, as defineProjection({ name }) gives it')
    .option('-y, --yes', 'rebuild without asking first')
    .action(async (name: string, options: { yes?: boolean }) => {
      const loaded = await context.projections();
      if (loaded === undefined)
        throw usageError(`No projections to rebuild "${name}" from: ${PASS_PROJECTIONS}.`);
      const projection = loaded.projections.find((p) => p.name === name);
      if (projection === undefined) {
        const known = loaded.projections.map((p) => p.name).join(', ');
        throw usageError(`No projection "${name}" in ${loaded.source}; it defines: ${known}.`);
      }
      const plan = await withStore(context, {}, (store) => planRebuild(store, projection));
      if (options.yes !== true && !(await confirmed(context, projection, plan.events))) {
        context.exitCode = 1;
        return print('Nothing rebuilt.');
      }
      if (loaded.catalog === undefined) {
        context.io.stderr(
          colors.dim('No catalog: events are applied as stored, without upcasting (see --catalog).\n'),
        );
      }
      // Opened as the application opens it, so that an inline projection stays inline once live again.
      const storeOptions = { catalog: loaded.catalog, projections: plan.inline ? [projection] : undefined };
      await withStore(context, storeOptions, async (store) => {
        const started = performance.now();
        const state = await rebuild(context, store, projection, plan.live);
        const took = formatDuration(performance.now() - started);
        print(
          `Rebuilt ${name} v${projection.version} in ${took}: ${state.applied} events applied, ` +
            `${state.deadLettered} dead-lettered.`,
        );
        if (state.deadLettered > 0) {
          context.exitCode = 1;
          context.io.stderr(
            `${colors.yellow(`${state.deadLettered} events went to the dead letters`)}: run ` +
              `\`tidings projections dead-letters list --projection ${name}\` to see why.\n`,
          );
        }
      });
    });

  registerProjectionDeadLetterCommands(group, context);
}

/** How far a building version has got, when its code (so its event types) is at hand. */
async function buildProgress(
  store: EventStore,
  state: ProjectionState,
  loaded: LoadedProjections | undefined,
): Promise<BuildProgress | undefined> {
  if (state.status !== 'building') return undefined;
  const code = loaded?.projections.find((p) => p.name === state.name && p.version === state.version);
  if (code === undefined) return undefined;
  const after = state.position === '' ? undefined : state.position;
  const remaining = await (store as ProjectionStore).projectionStorage.countEvents(after, code.types);
  return remaining === undefined ? undefined : { done: state.applied + state.deadLettered, remaining };
}

interface RebuildPlan {
  /** Whether the application applies it inline in appends (as its stored state says). */
  readonly inline: boolean;
  /** Whether this version is live now. */
  readonly live: boolean;
  /** Events of its types in the store, when they can be counted. */
  readonly events: number | undefined;
}

/** Reads what the store knows of the projection, refusing a rebuild a newer version would retire at once. */
async function planRebuild(store: EventStore, projection: Projection): Promise<RebuildPlan> {
  const states = (await projectionStatus(store)).filter((state) => state.name === projection.name);
  const newer = states.find((state) => state.version > projection.version && state.status !== 'retired');
  if (newer !== undefined) {
    throw usageError(
      `The store runs version ${newer.version} of "${projection.name}" (${newer.status}), newer than version ` +
        `${projection.version} in the projections module: that version would be retired at once. Pass the ` +
        'module of the version the application runs.',
    );
  }
  const same = states.find((state) => state.version === projection.version);
  const current = same ?? states.filter((state) => state.status !== 'retired').at(-1);
  const storage = (store as ProjectionStore).projectionStorage;
  return {
    inline: current?.inline ?? false,
    live: same?.status === 'live',
    events: await storage.countEvents(undefined, projection.types),
  };
}

/** Asks before emptying a read model; a script must say --yes. */
async function confirmed(
  context: CommandContext,
  projection: Projection,
  events: number | undefined,
): Promise<boolean> {
  const what = `projection "${projection.name}" version ${projection.version}`;
  if (!context.io.stdinIsTTY) {
    throw usageError(`Refusing to rebuild ${what} without confirmation: pass --yes to rebuild it.`);
  }
  const count = events === undefined ? 'every event' : `the ${events} events`;
  const answer = await context.io.prompt(
    `Rebuild ${what}? Its read model is emptied, then ${count} of its types applied again; ` +
      'reads see it partly filled until it is live. [y/N] ',
  );
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * Rebuilds one projection in this process and resolves to its state once live again. A batch that
 * fails (the database away, a promise from apply on SQLite) stops the rebuild instead of retrying.
 */
async function rebuild(
  context: CommandContext,
  store: EventStore,
  projection: Projection,
  live: boolean,
): Promise<ProjectionState> {
  const { name, version } = projection;
  let failure: CliError | undefined;
  const stop = (error: CliError): void => {
    failure ??= error;
    void runner.close();
  };
  const reporter = rebuildReporter(context.io, name);
  // Progress comes from the runner's own hook: the rebuild's may miss a build that ends in one batch.
  let rebuilding = false;
  const runner = runProjections(store, {
    projections: [projection],
    onProgress: (progress) => {
      if (rebuilding) reporter.update(progress);
    },
    onError: (error) => {
      const reason = error instanceof Error ? error.message : String(error);
      stop(
        new CliError(
          `Rebuilding "${name}" failed: ${reason}. It stays building from the last batch that committed; ` +
            'run the rebuild again, or let the application’s runner finish it.',
          1,
          { cause: error },
        ),
      );
    },
  });
  try {
    // Let the batch the runner starts with settle first, so its result cannot pass for the rebuilt one.
    if (live) await runner.get(name).live();
    rebuilding = true;
    await runner.rebuild(name, {
      onProgress: (progress) => {
        if (progress.status !== 'retired') return;
        stop(
          new CliError(
            `A newer version of "${name}" went live during the rebuild and retired version ${version}.`,
            1,
          ),
        );
      },
    });
    const state = (await projectionStatus(store)).find((s) => s.name === name && s.version === version);
    if (state === undefined)
      throw new CliError(`Projection "${name}" v${version} vanished from the store.`, 1);
    const done = state.applied + state.deadLettered;
    reporter.update({ done, total: done });
    return state;
  } catch (error) {
    throw failure ?? error;
  } finally {
    reporter.finish();
    await runner.close();
  }
}
