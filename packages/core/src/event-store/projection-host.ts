import type { Clock } from '../clock.ts';
import { isTidingsError, TidingsError } from '../errors.ts';
import { checkProjections, type Projection } from './projection.ts';
import { type ProjectionRunner, runProjections } from './projection-runner.ts';
import type { UnreadableEvent } from './projection-state.ts';
import type { EventStore, RecordedEvent } from './types.ts';

/**
 * Reads a stored event for a projection: the event, or, when the store cannot read it, an
 * {@link UnreadableEvent} carrying the error, so the projection dead-letters it instead of stopping.
 * `where` names the event when the read fails before the row is decoded. @internal
 */
export function readLeniently<Row>(
  read: (row: Row) => RecordedEvent,
  row: Row,
  where: (row: Row) => Pick<UnreadableEvent, 'stream' | 'streamVersion' | 'position' | 'type'>,
): RecordedEvent | UnreadableEvent {
  try {
    return read(row);
  } catch (error) {
    const at = where(row);
    const wrapped = isTidingsError(error)
      ? error
      : new TidingsError(
          'TIDINGS_MALFORMED',
          `Cannot read event ${at.streamVersion} of stream "${at.stream}": ${String(error)}`,
          {
            cause: error,
          },
        );
    return { unreadable: true, ...at, error: wrapped };
  }
}

/** The inline projections a store was given, checked. @internal */
export function inlineProjectionsOf(where: string, projections: unknown): readonly Projection[] {
  return Object.freeze([...checkProjections(where, projections)]);
}

/**
 * Starts the runner that builds a store's inline projections until they are live (then appends keep
 * them current); `undefined` when the store has none. @internal
 */
export function startInlineProjections(
  store: EventStore,
  projections: readonly Projection[],
  clock: Clock,
): ProjectionRunner | undefined {
  if (projections.length === 0) return undefined;
  return runProjections(store, { projections, clock });
}
