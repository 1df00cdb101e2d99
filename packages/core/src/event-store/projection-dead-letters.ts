import { fromCloudEvent } from '../cloudevents.ts';
import type { Event } from '../envelope.ts';
import { TidingsError } from '../errors.ts';
import { toTransportMessage } from '../message.ts';
import type { DeadLetterQuery, DeadLetterRecord, DeadLetterStorage, TransportMessage } from '../transport.ts';
import type { Projection } from './projection.ts';
import { type Applied, applyItems, each } from './projection-apply.ts';
import { listStates, spaces, type StoredProjectionDeadLetter } from './projection-state.ts';
import { type ProjectionStorage, type ProjectionTransaction, andThen } from './projection-storage.ts';
import type { EventStore, RecordedEvent } from './types.ts';

/** The channel name projection dead letters carry, beside the transports' channels. */
export const PROJECTION_CHANNEL = 'projections';

const encoder = new TextEncoder();

function messageOf(record: StoredProjectionDeadLetter): TransportMessage {
  const where = {
    'tidings-stream': record.stream,
    'tidings-stream-version': String(record.streamVersion),
    'tidings-position': record.position,
  };
  if (record.event !== undefined) {
    try {
      const message = toTransportMessage(fromCloudEvent(record.event));
      return { ...message, headers: { ...message.headers, ...where } };
    } catch {
      // Fall through to the bare message below: the facts of where it sits are enough to replay it.
    }
  }
  return {
    id: `${record.stream}@${record.streamVersion}`,
    topic: record.type,
    headers: where,
    body: encoder.encode(''),
  };
}

function toRecord(stored: StoredProjectionDeadLetter): DeadLetterRecord {
  const {
    name,
    version: _v,
    stream: _s,
    streamVersion: _sv,
    position: _p,
    type: _t,
    event: _e,
    recordedAt: _r,
    ...rest
  } = stored;
  return { ...rest, channel: PROJECTION_CHANNEL, group: name, message: messageOf(stored) };
}

function parseId(id: unknown): { name: string; version: number; position: string } | undefined {
  if (typeof id !== 'string') return undefined;
  const match = /^([a-z0-9][a-z0-9_-]*)@(\d+):(.+)$/.exec(id);
  if (match === null) return undefined;
  return { name: match[1] as string, version: Number(match[2]), position: match[3] as string };
}

/**
 * The dead letters of a store's projections as a {@link DeadLetterStorage}, so the same tooling serves
 * them as the transports' (`createDeadLetters`, the CLI): the group is the projection's name. Replaying
 * applies the event again (and, when it succeeds, the events of the same stream held behind it, in
 * order), in one transaction; the stream resumes once it has no dead letter left. Replay needs the
 * projection's code, so only projections run by this runner can be replayed.
 * @internal
 */
export function projectionDeadLetters(
  store: EventStore,
  storage: ProjectionStorage,
  projections: readonly Projection[],
  now: () => number,
): DeadLetterStorage {
  const all = async (): Promise<StoredProjectionDeadLetter[]> => {
    const records: StoredProjectionDeadLetter[] = [];
    for (const state of await listStates(storage.reader)) {
      if (state.status === 'retired') continue;
      for (const [, text] of await storage.reader.list(spaces.dead(state.name, state.version))) {
        records.push(JSON.parse(text) as StoredProjectionDeadLetter);
      }
    }
    return records.sort(
      (a, b) => a.deadLetteredAt - b.deadLetteredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  };

  const find = async (id: string): Promise<StoredProjectionDeadLetter | undefined> => {
    const at = parseId(id);
    if (at === undefined) return undefined;
    const text = await storage.reader.get(spaces.dead(at.name, at.version), at.position);
    return text === undefined ? undefined : (JSON.parse(text) as StoredProjectionDeadLetter);
  };

  /** The event to apply again: read from the store when it could not be read before, else as kept. */
  const eventOf = async (record: StoredProjectionDeadLetter): Promise<RecordedEvent> => {
    if (record.event !== undefined) {
      const event: Event = fromCloudEvent(record.event);
      return Object.freeze({
        ...event,
        stream: record.stream,
        streamVersion: record.streamVersion,
        position: record.position,
        recordedAt: record.recordedAt ?? new Date(record.deadLetteredAt).toISOString(),
      });
    }
    const { events } = await store.readStream(record.stream, { from: record.streamVersion, limit: 1 });
    const event = events[0];
    if (event === undefined || event.streamVersion !== record.streamVersion) {
      throw new TidingsError(
        'TIDINGS_NOT_FOUND',
        `Event ${record.streamVersion} of stream "${record.stream}" is no longer readable (truncated or deleted); discard dead letter ${record.id}.`,
      );
    }
    return event;
  };

  const unpauseIfClear = (t: ProjectionTransaction, name: string, version: number, stream: string) =>
    andThen(t.kv.list(spaces.dead(name, version)), (rows) =>
      rows.some(([, text]) => (JSON.parse(text) as StoredProjectionDeadLetter).stream === stream)
        ? undefined
        : t.kv.delete(spaces.paused(name, version), stream),
    );

  /** The dead letters of a stream for one projection version, oldest position first. */
  const heldIn = async (record: StoredProjectionDeadLetter): Promise<StoredProjectionDeadLetter[]> =>
    (await storage.reader.list(spaces.dead(record.name, record.version)))
      .map(([, text]) => JSON.parse(text) as StoredProjectionDeadLetter)
      .filter((r) => r.stream === record.stream);

  return {
    async list(query: DeadLetterQuery) {
      let records = (await all()).filter(
        (r) =>
          (query.group === undefined || r.name === query.group) &&
          (query.topic === undefined || r.type === query.topic) &&
          (query.fingerprint === undefined || r.fingerprint === query.fingerprint) &&
          (query.since === undefined || r.deadLetteredAt >= query.since),
      );
      if (query.after !== undefined) {
        const index = records.findIndex((r) => r.id === query.after);
        records = index < 0 ? records : records.slice(index + 1);
      }
      return records.slice(0, query.limit ?? records.length).map(toRecord);
    },
    async get(id) {
      const record = await find(id);
      return record === undefined ? undefined : toRecord(record);
    },
    async replay(id) {
      const record = await find(id);
      if (record === undefined) return false;
      const projection = projections.find((p) => p.name === record.name && p.version === record.version);
      if (projection === undefined) {
        throw new TidingsError(
          'TIDINGS_UNSUPPORTED',
          `Dead letter ${id} belongs to projection "${record.name}" version ${record.version}, which does not run here; replay it from the process that runs it.`,
        );
      }
      const held = await heldIn(record);
      if (held.length > 0 && (held[0] as StoredProjectionDeadLetter).id !== record.id) {
        throw new TidingsError(
          'TIDINGS_INVALID_OPTIONS',
          `Dead letter ${id} waits behind ${(held[0] as StoredProjectionDeadLetter).id} of the same stream; replay or discard that one first.`,
        );
      }
      // Read every event first: the transaction itself may not wait (SQLite).
      const replays = await Promise.all(held.map(async (item) => ({ item, event: await eventOf(item) })));
      const counts: Applied = { applied: 0, deadLettered: 0 };
      await storage.transaction((t) =>
        andThen(t.lock([spaces.lock(record.name)], 'exclusive'), () => {
          const plan = {
            transaction: t,
            mode: storage.mode,
            projection,
            isolate: true,
            now,
            ignorePaused: true,
          };
          let stopped = false;
          return andThen(
            each(replays, ({ item, event }) => {
              if (stopped) return undefined;
              return andThen(applyItems(plan, [event], counts), () => {
                // A failure rewrote the dead letter in place, with the new error: stop at it.
                if (counts.deadLettered > 0) stopped = true;
                else return t.kv.delete(spaces.dead(record.name, record.version), item.position);
                return undefined;
              });
            }),
            () => unpauseIfClear(t, record.name, record.version, record.stream),
          );
        }),
      );
      if (counts.applied === 0) {
        const again = await find(id);
        throw new TidingsError(
          'TIDINGS_HANDLER_FAILED',
          `Replaying dead letter ${id} failed again (${again?.error.name}: ${again?.error.message}); it stays in the dead letters.`,
        );
      }
      return true;
    },
    async discard(ids) {
      let discarded = 0;
      for (const id of ids) {
        const record = await find(id);
        if (record === undefined) continue;
        await storage.transaction((t) =>
          andThen(t.lock([spaces.lock(record.name)], 'exclusive'), () =>
            andThen(t.kv.delete(spaces.dead(record.name, record.version), record.position), () =>
              unpauseIfClear(t, record.name, record.version, record.stream),
            ),
          ),
        );
        discarded += 1;
      }
      return discarded;
    },
    async depth() {
      const groups = new Map<string, { group: string; count: number; oldestAt: number }>();
      for (const record of await all()) {
        const group = groups.get(record.name) ?? {
          group: record.name,
          count: 0,
          oldestAt: record.deadLetteredAt,
        };
        group.count += 1;
        group.oldestAt = Math.min(group.oldestAt, record.deadLetteredAt);
        groups.set(record.name, group);
      }
      return [...groups.values()];
    },
  };
}
