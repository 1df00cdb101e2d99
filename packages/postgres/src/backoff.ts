/** The longest wait between two tries to reach a server that is away, in ms. @internal */
export const MAX_BACKOFF_MS = 5000;

/**
 * How long to wait before the next try after `failures` failures in a row: doubling from `baseMs` up to
 * `maxMs`, then a random point in the upper half of that, so that many processes that lost the same
 * server do not all come back at the same instant. @internal
 */
export function backoffMs(
  failures: number,
  baseMs: number,
  maxMs: number = MAX_BACKOFF_MS,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(Math.max(baseMs, maxMs), baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return ceiling / 2 + (random() * ceiling) / 2;
}
