import { type Clock, systemClock } from '@tidings/core';

/** The system clock, which the shop can move forward to act out time passing. */
export interface ShopClock extends Clock {
  /** Moves this clock (and only it) `ms` into the future. */
  advance(ms: number): void;
}

/**
 * A clock for the event store: the wall clock plus an offset the story moves on ("an hour later"), so
 * that recorded times, and the temporal queries over them, show hours passing in a run of seconds.
 * Waits still take real time.
 */
export function shopClock(): ShopClock {
  let offset = 0;
  return {
    ...systemClock,
    now: () => Date.now() + offset,
    advance(ms) {
      offset += ms;
    },
  };
}
