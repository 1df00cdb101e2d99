import { type Clock, systemClock } from '../clock.ts';
import type { DeadLetterStorage } from '../transport.ts';
import { invalidOptions, TidingsError } from '../errors.ts';
import { checkProjections, type Projection } from './projection.ts';
import { type DocumentReader, documentReader } from './projection-documents.ts';
import { projectionDeadLetters } from './projection-dead-letters.ts';
import { NeedsIsolation } from './projection-apply.ts';
import { buildBatch, resetVersion } from './projection-batch.ts';
import { listStates, type ProjectionState } from './projection-state.ts';
import type { ProjectionStorage } from './projection-storage.ts';
import type { EventStore, GlobalPosition } from './types.ts';

/** An event store that can keep projections: the three Tidings stores. */
export interface ProjectionStore extends EventStore {
  readonly projectionStorage: ProjectionStorage;
}

/** Progress of a projection building (first build, new version or rebuild). */
export interface ProjectionProgress {
  readonly name: string;
  readonly version: number;
  /** Events applied and dead-lettered so far in this build. */
  readonly done: number;
  /** Events of its types in the store when the build started (may grow as appends go on); undefined if unknown. */
  readonly total: number | undefined;
  readonly status: ProjectionState['status'];
}

/** Options of {@link runProjections}. */
export interface RunProjectionsOptions {
  readonly projections: readonly Projection[];
  /** Events read and applied per transaction (default 500). */
  readonly batchSize?: number | undefined;
  /** How often to look for new events once caught up, besides being woken by this process's appends (default 1 000 ms). */
  readonly pollIntervalMs?: number | undefined;
  /** Where time comes from (default the system clock); tests pass a manual clock. */
  readonly clock?: Clock | undefined;
  /** Told of each failed batch (the database away, a sync-mode mistake) before the retry; default `console.error`. */
  readonly onError?: ((error: unknown, projection: { name: string; version: number }) => void) | undefined;
  /** Told after each batch of a projection that is building. */
  readonly onProgress?: ((progress: ProjectionProgress) => void) | undefined;
}

/** One running projection. */
export interface RunningProjection {
  readonly name: string;
  readonly version: number;
  /** The last state this process saw. */
  state(): ProjectionState | undefined;
  /**
   * Resolves once the read model includes every event up to `position` (what `append` returned):
   * read-your-writes. An inline projection resolves as soon as it is live.
   */
  waitFor(position: GlobalPosition, options?: { readonly signal?: AbortSignal | undefined }): Promise<void>;
  /** Resolves once this version is live (caught up and serving reads). */
  live(options?: { readonly signal?: AbortSignal | undefined }): Promise<void>;
}

/** Projections running in this process. */
export interface ProjectionRunner {
  get(name: string): RunningProjection;
  /** Every version of every projection in the store (not only those run here). */
  status(): Promise<readonly ProjectionState[]>;
  /** The documents of a projection's live version (the newest one building, before any is live). */
  documents(name: string): DocumentReader;
  /**
   * Empties the projection's read model and builds it again from the first event, reporting progress;
   * resolves when it is live again. A crash midway resumes where the last batch ended.
   */
  rebuild(
    name: string,
    options?: { readonly onProgress?: ((progress: ProjectionProgress) => void) | undefined },
  ): Promise<void>;
  /** The dead letters of these projections, for `createDeadLetters(runner.deadLetters)` and the CLI. */
  readonly deadLetters: DeadLetterStorage;
  /** Stops after the batch in flight. */
  close(): Promise<void>;
}

interface Waiter {
  readonly ready: (state: ProjectionState) => boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Checks that a store keeps projections. @internal */
export function projectionStorageOf(where: string, store: unknown): ProjectionStorage {
  const storage = (store as Partial<ProjectionStore> | null)?.projectionStorage;
  if (typeof storage?.transaction !== 'function') {
    throw invalidOptions(where, [
      'store must be a Tidings event store (memoryEventStore, sqliteEventStore or postgresEventStore)',
    ]);
  }
  return storage;
}

/** The live version of a name, else the newest building one, else 1. @internal */
export async function readVersion(storage: ProjectionStorage, name: string): Promise<number> {
  const states = await listStates(storage.reader, name);
  const live =
    states.find((s) => s.status === 'live') ?? states.filter((s) => s.status === 'building').at(-1);
  return live?.version ?? 1;
}

/**
 * Every version of every projection kept in a store, with its status and progress, whether or not
 * this process runs it (for dashboards and `tidings projections status`).
 */
export async function projectionStatus(store: EventStore): Promise<readonly ProjectionState[]> {
  return listStates(projectionStorageOf('projectionStatus', store).reader);
}

/**
 * The dead letters of every projection kept in a store, without running any (for operators' tools such
 * as `tidings projections dead-letters`): list, get, depth and discard cover all of them; replay applies
 * the event again, so it works only for the `projections` given.
 *
 * @example
 * const deadLetters = createDeadLetters(projectionDeadLetterStorage(store, { projections: [ordersByStatus] }));
 * await deadLetters.replay({ group: 'orders-by-status' });
 */
export function projectionDeadLetterStorage(
  store: EventStore,
  options: {
    readonly projections?: readonly Projection[] | undefined;
    readonly clock?: Clock | undefined;
  } = {},
): DeadLetterStorage {
  const storage = projectionStorageOf('projectionDeadLetterStorage', store);
  if (typeof options !== 'object' || options === null) {
    throw invalidOptions('projectionDeadLetterStorage', [
      'options must be an object such as { projections: [ordersByStatus] }',
    ]);
  }
  const projections = checkProjections('projectionDeadLetterStorage', options.projections);
  const clock = options.clock ?? systemClock;
  return projectionDeadLetters(store, storage, projections, () => clock.now());
}

function checkRunOptions(options: RunProjectionsOptions): readonly Projection[] {
  if (typeof options !== 'object' || options === null) {
    throw invalidOptions('runProjections', [
      'options must be an object such as { projections: [ordersByStatus] }',
    ]);
  }
  const projections = checkProjections('runProjections', options.projections);
  const problems: string[] = [];
  if (projections.length === 0) problems.push('projections must hold at least one projection');
  const { batchSize, pollIntervalMs } = options;
  if (batchSize !== undefined && !(Number.isSafeInteger(batchSize) && batchSize > 0)) {
    problems.push(`batchSize must be a whole number of 1 or more (got ${String(batchSize)})`);
  }
  if (pollIntervalMs !== undefined && !(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) {
    problems.push(`pollIntervalMs must be a number of ms above 0 (got ${String(pollIntervalMs)})`);
  }
  for (const hook of ['onError', 'onProgress'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function')
      problems.push(`${hook} must be a function`);
  }
  if (problems.length > 0) throw invalidOptions('runProjections', problems);
  return projections;
}

/**
 * Keeps projections up to date in this process: each catches up with the history, then follows new
 * events. Every batch is one transaction of the store's database holding the read-model changes and
 * the new checkpoint, so a crash never applies an event twice. A new version builds beside the live
 * one and takes over when it has caught up (blue/green); several processes may run the same
 * projections (their batches take turns).
 *
 * @example
 * const projections = runProjections(store, { projections: [ordersByStatus, revenuePerDay] });
 * const { position } = await store.append('order-42', [OrderPlaced.create({ orderId: '42', total: 10 })]);
 * await projections.get('orders-by-status').waitFor(position);
 * console.log(await projections.documents('orders-by-status').get('orders', '42'));
 * await projections.close();
 */
export function runProjections(store: EventStore, options: RunProjectionsOptions): ProjectionRunner {
  const storage = projectionStorageOf('runProjections', store);
  const projections = checkRunOptions(options);
  const inline = new Set(
    (store as Partial<{ inlineProjections: readonly Projection[] }>).inlineProjections ?? [],
  );
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const clock = options.clock ?? systemClock;
  const controller = new AbortController();
  const stop = controller.signal;
  const states = new Map<string, ProjectionState>();
  const waiters = new Map<string, Set<Waiter>>();
  const totals = new Map<string, number | undefined>();
  // Bumped by each rebuild, so a batch that read the state before the reset cannot report it after.
  const generations = new Map<string, number>();
  const progressListeners = new Map<string, (progress: ProjectionProgress) => void>();
  // Who sleeps, and what wakes them: appends in this process, or a rebuild of their projection. The
  // counts let a wake-up that arrives during a batch be seen by the pause that follows it.
  const wakers = new Set<{ readonly name: string; readonly onAppend: boolean; readonly wake: () => void }>();
  let appends = 0;
  const rebuilds = new Map<string, number>();
  const marks = (name: string) => ({ appends, rebuilds: rebuilds.get(name) ?? 0 });
  const unwatch = storage.watch(() => {
    appends += 1;
    for (const waker of [...wakers]) if (waker.onAppend) waker.wake();
  });
  const requestRebuild = (name: string): void => {
    rebuilds.set(name, (rebuilds.get(name) ?? 0) + 1);
    for (const waker of [...wakers]) if (waker.name === name) waker.wake();
  };
  const byName = new Map(projections.map((p) => [p.name, p]));

  const settle = (name: string): void => {
    const state = states.get(name);
    if (state === undefined) return;
    for (const waiter of waiters.get(name) ?? []) {
      if (!waiter.ready(state)) continue;
      waiters.get(name)?.delete(waiter);
      waiter.resolve();
    }
  };

  const report = async (projection: Projection, state: ProjectionState): Promise<void> => {
    if (state.status !== 'building' && !progressListeners.has(projection.name)) return;
    if (!totals.has(projection.name))
      totals.set(projection.name, await storage.countEvents(undefined, projection.types));
    const progress: ProjectionProgress = {
      name: projection.name,
      version: projection.version,
      done: state.applied + state.deadLettered,
      total: totals.get(projection.name),
      status: state.status,
    };
    options.onProgress?.(progress);
    progressListeners.get(projection.name)?.(progress);
  };

  /** One batch; returns whether there may be more to do at once. */
  const step = async (projection: Projection): Promise<'more' | 'idle' | 'done'> => {
    const generation = generations.get(projection.name) ?? 0;
    const run = (isolate: boolean) =>
      storage.transaction((transaction) =>
        buildBatch({
          transaction,
          mode: storage.mode,
          projection,
          isolate,
          inline: inline.has(projection),
          batchSize,
          now: () => clock.now(),
        }),
      );
    const outcome = await run(false).catch((error: unknown) => {
      if (error instanceof NeedsIsolation) return run(true);
      throw error;
    });
    if (generation !== (generations.get(projection.name) ?? 0)) return 'more';
    states.set(projection.name, outcome.state);
    // Progress first: a rebuild waiting below stops listening as soon as it is settled.
    if (outcome.read > 0 || outcome.state.status !== 'building') await report(projection, outcome.state);
    settle(projection.name);
    if (outcome.state.status === 'retired' || (outcome.state.inline && outcome.state.status === 'live'))
      return 'done';
    return outcome.caughtUp ? 'idle' : 'more';
  };

  /** Sleeps until `ms` pass, this process appends, a rebuild is asked for, or close(). */
  const pause = async (
    name: string,
    ms: number | undefined,
    seen: ReturnType<typeof marks>,
    onAppend: boolean,
  ): Promise<void> => {
    const now = marks(name);
    if ((onAppend && now.appends !== seen.appends) || now.rebuilds !== seen.rebuilds || stop.aborted) return;
    const woken = new AbortController();
    const onStop = (): void => woken.abort();
    stop.addEventListener('abort', onStop, { once: true });
    const waker = { name, onAppend, wake: () => woken.abort() };
    wakers.add(waker);
    try {
      if (ms === undefined)
        await new Promise((resolve) => woken.signal.addEventListener('abort', resolve, { once: true }));
      else await clock.sleep(ms, woken.signal);
    } catch {
      // Woken early.
    } finally {
      stop.removeEventListener('abort', onStop);
      wakers.delete(waker);
    }
  };

  const follow = async (projection: Projection): Promise<void> => {
    let failures = 0;
    while (!stop.aborted) {
      let next: 'more' | 'idle' | 'done';
      const seen = marks(projection.name);
      try {
        next = await step(projection);
        failures = 0;
      } catch (error) {
        failures += 1;
        try {
          const onError =
            options.onError ??
            ((e: unknown) => console.error(`[tidings] projection "${projection.name}" failed, retrying:`, e));
          onError(error, { name: projection.name, version: projection.version });
        } catch {
          // A failing error hook must not stop the projection.
        }
        await pause(
          projection.name,
          Math.min(30_000, 100 * 2 ** (failures - 1)),
          marks(projection.name),
          false,
        );
        continue;
      }
      if (next === 'done' && states.get(projection.name)?.status === 'retired') break;
      // Inline and live: appends keep it current, so sleep until a rebuild wakes it.
      if (next === 'done') await pause(projection.name, undefined, seen, false);
      else if (next === 'idle') await pause(projection.name, pollIntervalMs, seen, true);
    }
  };

  const finished = Promise.all(projections.map((p) => follow(p)));

  const waitUntil = (
    name: string,
    ready: (state: ProjectionState) => boolean,
    signal?: AbortSignal,
  ): Promise<void> => {
    const state = states.get(name);
    if (state !== undefined && ready(state)) return Promise.resolve();
    if (stop.aborted) return Promise.reject(closed(name));
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        waiters.get(name)?.delete(waiter);
        reject(signal?.reason as Error);
      };
      const waiter: Waiter = {
        ready,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      if (!waiters.has(name)) waiters.set(name, new Set());
      waiters.get(name)?.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  };

  const handle = (projection: Projection): RunningProjection => ({
    name: projection.name,
    version: projection.version,
    state: () => states.get(projection.name),
    waitFor(position, waitOptions = {}) {
      if (typeof position !== 'string' || position.length === 0) {
        return Promise.reject(invalidOptions('waitFor', ['position must be a position an append returned']));
      }
      return waitUntil(
        projection.name,
        (state) =>
          (state.inline && state.status === 'live') ||
          (state.status !== 'retired' && state.position >= position),
        waitOptions.signal,
      );
    },
    live: (waitOptions = {}) =>
      waitUntil(projection.name, (state) => state.status === 'live', waitOptions.signal),
  });

  const known = (name: string): Projection => {
    const projection = byName.get(name);
    if (projection === undefined) {
      throw invalidOptions('projections', [
        `no projection named "${name}" runs here; known: ${[...byName.keys()].join(', ')}`,
      ]);
    }
    return projection;
  };

  return {
    get: (name) => handle(known(name)),
    status: async () => listStates(storage.reader),
    documents: (name) => {
      if (typeof name !== 'string') throw invalidOptions('documents', ['name must be a projection name']);
      return documentReader(storage.reader, name, () => readVersion(storage, name));
    },
    async rebuild(name, rebuildOptions = {}) {
      const projection = known(name);
      if (stop.aborted) throw closed(name);
      const bump = (): void => {
        generations.set(name, (generations.get(name) ?? 0) + 1);
      };
      if (rebuildOptions.onProgress !== undefined) progressListeners.set(name, rebuildOptions.onProgress);
      bump();
      await storage.transaction((transaction) =>
        resetVersion(transaction, storage.mode, projection, inline.has(projection), clock.now()),
      );
      bump();
      totals.delete(name);
      states.delete(name);
      requestRebuild(name);
      try {
        await waitUntil(name, (state) => state.status === 'live');
      } finally {
        progressListeners.delete(name);
      }
    },
    deadLetters: projectionDeadLetters(store, storage, projections, () => clock.now()),
    async close() {
      controller.abort();
      unwatch();
      await finished;
      for (const [name, set] of waiters) for (const waiter of set) waiter.reject(closed(name));
      waiters.clear();
    },
  };
}

const closed = (name: string): TidingsError =>
  new TidingsError(
    'TIDINGS_CLOSED',
    `The projection runner of "${name}" is closed; start runProjections again.`,
  );
