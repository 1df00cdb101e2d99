import { InvalidArgumentError } from 'commander';

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
// A date, optionally with a time: what people paste from logs, not everything Date.parse guesses at.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Reads a `--since` value: a duration back from `now` (`90s`, `15m`, `1h`, `2d`, `1w`) or an ISO 8601
 * date or time (`2025-11-26`, `2025-11-26T10:00:00Z`).
 *
 * @returns the time in ms since the epoch.
 * @throws InvalidArgumentError (commander reports it as a usage error) for anything else.
 *
 * @example
 * parseSince('1h', Date.now()); // an hour ago
 */
export function parseSince(text: string, now: number = Date.now()): number {
  const trimmed = text.trim();
  const duration = DURATION.exec(trimmed);
  if (duration !== null) return now - Number(duration[1]) * (UNITS[duration[2] ?? ''] ?? 0);
  const time = ISO_DATE.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new InvalidArgumentError(
      'Pass a duration back from now (30s, 15m, 1h, 2d, 1w) or an ISO date/time (2025-11-26T10:00:00Z).',
    );
  }
  return time;
}

/**
 * How long ago, in the one largest unit that fits: `42s`, `5m`, `3h`, `2d`.
 *
 * @example
 * formatAge(90_000); // '1m'
 */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** An instant as ISO 8601 in UTC, the way it is printed everywhere. */
export const formatTime = (ms: number): string => new Date(ms).toISOString();
