import { createInterface } from 'node:readline/promises';
import { stripVTControlCharacters } from 'node:util';
import pc from 'picocolors';

/** Where the CLI writes and which directory it works in; tests pass their own to capture the output. */
export interface CliIo {
  /** Writes text to standard output as is (no newline added). */
  readonly stdout: (text: string) => void;
  /** Writes text to standard error as is (no newline added). */
  readonly stderr: (text: string) => void;
  /** The directory relative paths and `tidings.config.js` are resolved from (default: `process.cwd()`). */
  readonly cwd: string;
  /** Whether to colour the output (default: when the terminal supports it and the caller passed no `io`). */
  readonly color: boolean;
  /** Whether standard input is a terminal a person can answer questions on (default: false with an `io`). */
  readonly stdinIsTTY: boolean;
  /** Whether standard error is a terminal a progress bar can redraw in place (default: false with an `io`). */
  readonly stderrIsTTY: boolean;
  /** Asks a question on the terminal and resolves to the answer (default: a line read from stdin). */
  readonly prompt: (question: string) => Promise<string>;
  /** The environment variables read, such as `TIDINGS_TRANSPORT_URL` (default: `process.env`, or none with an `io`). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The text styles the commands use; plain identity functions when colour is off. */
export type Colors = ReturnType<typeof pc.createColors>;

/** Completes a partial `io` with the process's own streams and directory. @internal */
export function resolveIo(io: Partial<CliIo> | undefined, argv: readonly string[]): CliIo {
  const color = !argv.includes('--no-color') && (io?.color ?? (io === undefined && pc.isColorSupported));
  return {
    stdout: io?.stdout ?? ((text) => void process.stdout.write(text)),
    stderr: io?.stderr ?? ((text) => void process.stderr.write(text)),
    cwd: io?.cwd ?? process.cwd(),
    color,
    // A caller that captures the output (a test, an embedding program) is not a person at a terminal.
    stdinIsTTY: io?.stdinIsTTY ?? (io === undefined && process.stdin.isTTY === true),
    stderrIsTTY: io?.stderrIsTTY ?? (io === undefined && process.stderr.isTTY === true),
    prompt: io?.prompt ?? promptOnTerminal,
    env: io?.env ?? (io === undefined ? process.env : {}),
  };
}

async function promptOnTerminal(question: string): Promise<string> {
  // The question goes to stderr so that stdout stays clean for what the command prints.
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}

/** A one-line progress bar on stderr, redrawn in place; draws nothing when stderr is not a terminal. */
export interface ProgressBar {
  update(progress: { readonly done: number; readonly total: number }): void;
  /** Clears the line, so that what is printed next starts on a clean one. */
  finish(): void;
}

const BAR_WIDTH = 30;

/**
 * Starts a progress bar labelled `label`, hand-rolled on purpose: one `\r`-redrawn line is all the
 * bulk commands need.
 *
 * @example
 * const bar = progressBar(io, 'replaying');
 * await deadLetters.replay(filter, { onProgress: (progress) => bar.update(progress) });
 * bar.finish();
 */
export function progressBar(io: CliIo, label: string): ProgressBar {
  if (!io.stderrIsTTY) return { update: () => {}, finish: () => {} };
  let drawnPercent = -1;
  return {
    update({ done, total }) {
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      // A bulk operation reports every dead letter; redrawing once per percent is plenty for the eye.
      if (percent === drawnPercent && done !== total) return;
      drawnPercent = percent;
      const filled = Math.round((percent / 100) * BAR_WIDTH);
      io.stderr(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${done}/${total}`);
    },
    finish() {
      if (drawnPercent !== -1) io.stderr('\r\u001b[2K');
      drawnPercent = -1;
    },
  };
}

/**
 * Lays out rows as aligned columns separated by two spaces, the header styled by `heading`.
 * Plain columns rather than box drawing, so the output stays easy to read and to `grep`.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  heading: (text: string) => string = (text) => text,
): string {
  const widths = header.map((title, column) =>
    Math.max(visibleLength(title), ...rows.map((row) => visibleLength(row[column] ?? ''))),
  );
  const line = (cells: readonly string[], style: (text: string) => string): string =>
    cells
      .map((cell, column) => {
        const last = column === cells.length - 1;
        const padding = last ? '' : ' '.repeat((widths[column] ?? 0) - visibleLength(cell));
        return style(cell) + padding;
      })
      .join('  ');
  return [line(header, heading), ...rows.map((row) => line(row, (text) => text))].join('\n');
}

const visibleLength = (text: string): number => stripVTControlCharacters(text).length;
