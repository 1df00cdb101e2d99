import { TidingsError } from '../errors.ts';
import type { MaybePromise, Projection } from './projection.ts';
import { type Applied, applyItems, callHook, each, projectionContext } from './projection-apply.ts';
import { cachedTransaction } from './projection-cache.ts';
import { documentPrefix } from './projection-documents.ts';
import { listStates, newState, type ProjectionState, saveState, spaces } from './projection-state.ts';
import { type ProjectionTransaction, andThen } from './projection-storage.ts';
import type { RecordedEvent } from './types.ts';

/** What one batch did. @internal */
export interface BatchOutcome {
  readonly state: ProjectionState;
  /** Events and unreadable events read. */
  readonly read: number;
  readonly caughtUp: boolean;
}

/** Everything a batch needs. @internal */
export interface BatchPlan {
  readonly transaction: ProjectionTransaction;
  readonly mode: 'sync' | 'async';
  readonly projection: Projection;
  readonly isolate: boolean;
  readonly inline: boolean;
  readonly batchSize: number;
  readonly now: () => number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Marks other versions retired and empties what they kept. */
function retire(
  transaction: ProjectionTransaction,
  states: readonly ProjectionState[],
  now: string,
): MaybePromise<void> {
  const { kv } = transaction;
  return each(states, (state) =>
    andThen(saveState(kv, { ...state, status: 'retired', updatedAt: now }), () =>
      andThen(kv.clear(documentPrefix(state.name, state.version)), () =>
        andThen(kv.clear(spaces.paused(state.name, state.version)), () =>
          kv.clear(spaces.dead(state.name, state.version)),
        ),
      ),
    ),
  );
}

/**
 * One batch of a projection that is building or following the log asynchronously, in one transaction:
 * lock the projection's name, load its state (creating it and running `setup` the first time), read
 * the next events after its position, apply them, and save the new position. When a building version
 * catches up it goes live and retires the older versions, in the same transaction.
 * @internal
 */
export function buildBatch(plan: BatchPlan): MaybePromise<BatchOutcome> {
  const { transaction, projection, mode } = plan;
  const { kv } = transaction;
  const { name, version } = projection;
  const now = iso(plan.now());
  return andThen(transaction.lock([spaces.lock(name)], 'exclusive'), () =>
    andThen(listStates(kv, name), (all): MaybePromise<BatchOutcome> => {
      const found = all.find((s) => s.version === version);
      const newerLive = all.some((s) => s.version > version && s.status === 'live');
      if (found?.status === 'retired' || (found !== undefined && newerLive)) {
        const state: ProjectionState = { ...found, status: 'retired', updatedAt: now };
        return andThen(found.status === 'retired' ? undefined : saveState(kv, state), () => ({
          state,
          read: 0,
          caughtUp: true,
        }));
      }
      if (found !== undefined && found.status === 'live' && found.inline && plan.inline) {
        return { state: found, read: 0, caughtUp: true };
      }
      const start =
        found === undefined
          ? andThen(
              callHook(mode, name, () => projection.setup?.(projectionContext(plan))),
              () => newState(name, version, plan.inline, now),
            )
          : { ...found, inline: plan.inline };
      return andThen(start, (state) =>
        andThen(
          transaction.readAll(
            state.position === '' ? undefined : state.position,
            projection.types,
            plan.batchSize,
          ),
          (read) => {
            const counts: Applied = { applied: 0, deadLettered: 0 };
            // Without savepoints, reads and writes of the read model can be held and written at the end.
            const cached = plan.isolate ? undefined : cachedTransaction(transaction);
            const applied = applyItems(
              cached === undefined ? plan : { ...plan, transaction: cached },
              read.items,
              counts,
            );
            return andThen(
              andThen(applied, () => cached?.flush()),
              () => {
                let next: ProjectionState = {
                  ...state,
                  position: read.position > state.position ? read.position : state.position,
                  applied: state.applied + counts.applied,
                  deadLettered: state.deadLettered + counts.deadLettered,
                  updatedAt: now,
                };
                const goesLive = read.caughtUp && state.status === 'building';
                if (goesLive) next = { ...next, status: 'live' };
                const older = goesLive
                  ? all.filter((s) => s.version < version && s.status !== 'retired')
                  : [];
                return andThen(retire(transaction, older, now), () =>
                  andThen(saveState(kv, next), () => ({
                    state: next,
                    read: read.items.length,
                    caughtUp: read.caughtUp,
                  })),
                );
              },
            );
          },
        ),
      );
    }),
  );
}

/**
 * Starts a version over: empties its documents, paused streams and dead letters, runs `reset`, and
 * saves it as building from the first event. @internal
 */
export function resetVersion(
  transaction: ProjectionTransaction,
  mode: 'sync' | 'async',
  projection: Projection,
  inline: boolean,
  nowMs: number,
): MaybePromise<void> {
  const { kv } = transaction;
  const { name, version } = projection;
  return andThen(transaction.lock([spaces.lock(name)], 'exclusive'), () =>
    andThen(kv.clear(documentPrefix(name, version)), () =>
      andThen(kv.clear(spaces.paused(name, version)), () =>
        andThen(kv.clear(spaces.dead(name, version)), () =>
          andThen(
            callHook(mode, name, () => projection.reset?.(projectionContext({ transaction, projection }))),
            () => saveState(kv, newState(name, version, inline, iso(nowMs))),
          ),
        ),
      ),
    ),
  );
}

/**
 * An append from a process that still runs an older inline version than the live one: it cannot keep
 * the live version current, so the append is refused rather than leaving a hole in that read model.
 */
function outdatedInline(projection: Projection, live: number): TidingsError {
  return new TidingsError(
    'TIDINGS_UNSUPPORTED',
    `Inline projection "${projection.name}" is live at version ${live}, but this process applies version ` +
      `${projection.version}: nothing was appended. Deploy the code with version ${live} to every process that appends.`,
    { details: { projection: projection.name, version: projection.version, live } },
  );
}

/**
 * Applies the events of one append to the store's inline projections that are live, inside the
 * append's transaction. Projections still building skip them: their runner reads them from the log.
 * @internal
 */
export function applyInline(
  transaction: ProjectionTransaction,
  mode: 'sync' | 'async',
  projections: readonly Projection[],
  events: readonly RecordedEvent[],
  now: () => number,
): MaybePromise<void> {
  const wanted = projections.filter((p) => events.some((e) => p.types.includes(e.type)));
  if (wanted.length === 0) return undefined;
  return andThen(
    transaction.lock(
      wanted.map((p) => spaces.lock(p.name)),
      'shared',
    ),
    () =>
      andThen(listStates(transaction.kv), (states) =>
        each(wanted, (projection) => {
          const newer = states.find(
            (s) =>
              s.name === projection.name && s.version > projection.version && s.inline && s.status === 'live',
          );
          if (newer !== undefined) throw outdatedInline(projection, newer.version);
          const state = states.find((s) => s.name === projection.name && s.version === projection.version);
          if (state?.status !== 'live') return undefined;
          const items = events.filter((e) => projection.types.includes(e.type));
          const counts: Applied = { applied: 0, deadLettered: 0 };
          return andThen(
            applyItems({ transaction, mode, projection, isolate: true, now }, items, counts),
            () =>
              counts.deadLettered === 0
                ? undefined
                : saveState(transaction.kv, {
                    ...state,
                    deadLettered: state.deadLettered + counts.deadLettered,
                  }),
          );
        }),
      ),
  );
}
