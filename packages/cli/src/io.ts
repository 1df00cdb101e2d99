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
