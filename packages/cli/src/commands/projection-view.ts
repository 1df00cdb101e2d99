import type { DeadLetter, ProjectionState } from '@tidings/core';
import { type CliIo, type Colors, progressBar } from '../io.ts';
import { formatAge } from '../time.ts';
import { errorSummary } from './dead-letter-view.ts';

/** How far a building version has got, when the events still to apply can be counted. */
export interface BuildProgress {
  /** Events applied and dead-lettered since this build began. */
  readonly done: number;
  /** Events of its types still after its position. */
  readonly remaining: number;
}

/** The columns of `projections status`. */
export const STATUS_COLUMNS = [
  'NAME',
  'VERSION',
  'STATUS',
  'MODE',
  'APPLIED',
  'DEAD-LETTERED',
  'POSITION',
  'UPDATED',
] as const;

/** Whole percent done, never above 100 (appends go on while a version builds). */
export const percentDone = (progress: BuildProgress): number => {
  const total = progress.done + progress.remaining;
  return total === 0 ? 100 : Math.min(100, Math.floor((progress.done / total) * 100));
};

/** One row of the status table: building versions show how far they have got when that is known. */
export function stateRow(
  state: ProjectionState,
  progress: BuildProgress | undefined,
  colors: Colors,
  now: number,
): string[] {
  const status =
    state.status === 'live'
      ? colors.green('live')
      : state.status === 'retired'
        ? colors.dim('retired')
        : colors.yellow(progress === undefined ? 'building' : `building ${percentDone(progress)}%`);
  return [
    state.name,
    String(state.version),
    status,
    state.inline ? 'inline' : 'async',
    String(state.applied),
    state.deadLettered === 0 ? '0' : colors.red(String(state.deadLettered)),
    state.position === '' ? '-' : state.position,
    `${formatAge(now - Date.parse(state.updatedAt))} ago`,
  ];
}

/** A version's state as plain JSON for scripts, with its build progress when known. */
export function stateJson(
  state: ProjectionState,
  progress: BuildProgress | undefined,
): Record<string, unknown> {
  return progress === undefined
    ? { ...state }
    : { ...state, progress: { ...progress, percent: percentDone(progress) } };
}

/** The stream of a projection dead letter's event. */
export const streamName = (deadLetter: DeadLetter): string | undefined =>
  deadLetter.message.headers['tidings-stream'];

/** Where a projection dead letter sits: its stream and the event's version in it, as `order-42@3`. */
export function streamOf(deadLetter: DeadLetter): string {
  const { headers } = deadLetter.message;
  const stream = headers['tidings-stream'];
  return stream === undefined ? '-' : `${stream}@${headers['tidings-stream-version'] ?? '?'}`;
}

/** The columns of `projections dead-letters list`. */
export const DEAD_LETTER_COLUMNS = ['ID', 'STREAM', 'TYPE', 'REASON', 'AGE', 'ERROR'] as const;

/** One row of the dead letters table; the id is shown whole, since its end is shared across projections. */
export const deadLetterRow = (deadLetter: DeadLetter, now: number): string[] => [
  deadLetter.id,
  streamOf(deadLetter),
  deadLetter.type,
  deadLetter.reason,
  formatAge(now - deadLetter.deadLetteredAt),
  errorSummary(deadLetter.error),
];

/** `350ms`, `4.2s`, `3m 05s`: how long a rebuild took. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

/** Shows a rebuild's progress: a bar on a terminal, else a line on stderr at every tenth of the way. */
export interface RebuildReporter {
  update(progress: { readonly done: number; readonly total: number | undefined }): void;
  finish(): void;
}

const STEP_PERCENT = 10;
// Without a total, a plain line at most this often: enough to see it move, little enough for a log.
const UNCOUNTED_EVERY_MS = 5_000;

/**
 * Starts reporting a rebuild of `name`, on stderr so that stdout keeps only the result.
 *
 * @example
 * const reporter = rebuildReporter(io, 'orders-by-status');
 * await runner.rebuild('orders-by-status', { onProgress: (progress) => reporter.update(progress) });
 * reporter.finish();
 */
export function rebuildReporter(io: CliIo, name: string): RebuildReporter {
  const label = `rebuilding ${name}`;
  if (io.stderrIsTTY) {
    const bar = progressBar(io, label);
    let counting = false;
    return {
      update({ done, total }) {
        // The bar cannot draw past full: events appended during the build may push done above total.
        if (total !== undefined) return bar.update({ done: Math.min(done, total), total });
        counting = true;
        io.stderr(`\r${label}: ${done} events`);
      },
      finish() {
        bar.finish();
        if (counting) io.stderr('\r\u001b[2K');
        counting = false;
      },
    };
  }
  let printedStep = -1;
  let printedAt = Number.NEGATIVE_INFINITY;
  return {
    update({ done, total }) {
      if (total === undefined) {
        if (Date.now() - printedAt < UNCOUNTED_EVERY_MS) return;
        printedAt = Date.now();
        io.stderr(`${label}: ${done} events\n`);
        return;
      }
      const percent = total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
      const step = Math.floor(percent / STEP_PERCENT);
      if (step === printedStep) return;
      printedStep = step;
      io.stderr(`${label}: ${percent}% (${Math.min(done, total)}/${total} events)\n`);
    },
    finish: () => {},
  };
}
