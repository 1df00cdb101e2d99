import type { Clock } from './clock.ts';
import { newEventId } from './envelope.ts';
import type { DeadLetterQuery, DeadLetterRecord, DeadLetterStorage, TransportMessage } from './transport.ts';

/** Runs `work` and returns its result as a promise, a throw as a rejection. @internal */
export function promised<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}

/** A dead letter before the shelf gives it an id and a time. @internal */
export type NewDeadLetter = Omit<DeadLetterRecord, 'id' | 'deadLetteredAt'>;

/** The dead letters of one memory transport, with the storage interface operators use. @internal */
export function createDeadLetterShelf(
  clock: Clock,
  redeliver: (record: DeadLetterRecord) => void,
): { storage: DeadLetterStorage; add(record: NewDeadLetter): void } {
  const records = new Map<string, DeadLetterRecord>();
  // Sort keys of removed dead letters, so that a listing can still resume after one of them.
  const removedAt = new Map<string, number>();
  const remove = (record: DeadLetterRecord): void => {
    records.delete(record.id);
    removedAt.set(record.id, record.deadLetteredAt);
  };
  const storage: DeadLetterStorage = {
    list: (query: DeadLetterQuery) =>
      promised(() => {
        const matches = [...records.values()]
          .filter(
            (record) =>
              (query.group === undefined || record.group === query.group) &&
              (query.topic === undefined || record.message.topic === query.topic) &&
              (query.fingerprint === undefined || record.fingerprint === query.fingerprint) &&
              (query.since === undefined || record.deadLetteredAt >= query.since),
          )
          .sort(byTimeThenId);
        let start = 0;
        if (query.after !== undefined) {
          const at = records.get(query.after)?.deadLetteredAt ?? removedAt.get(query.after);
          const after = { id: query.after, deadLetteredAt: at ?? Number.POSITIVE_INFINITY };
          start = matches.findIndex((record) => byTimeThenId(record, after) > 0);
          if (start < 0) start = matches.length;
        }
        const end = query.limit === undefined ? undefined : start + Math.max(0, query.limit);
        return matches.slice(start, end).map(copyRecord);
      }),
    get: (id) =>
      promised(() => {
        const record = records.get(id);
        return record === undefined ? undefined : copyRecord(record);
      }),
    replay: (id) =>
      promised(() => {
        const record = records.get(id);
        if (record === undefined) return false;
        redeliver(record);
        remove(record);
        return true;
      }),
    discard: (ids) =>
      promised(() => {
        const found = ids.map((id) => records.get(id)).filter((record) => record !== undefined);
        for (const record of found) remove(record);
        return found.length;
      }),
    depth: () =>
      promised(() => {
        const byGroup = new Map<string, { group: string; count: number; oldestAt: number }>();
        for (const { group, deadLetteredAt } of records.values()) {
          const row = byGroup.get(group) ?? { group, count: 0, oldestAt: deadLetteredAt };
          row.count += 1;
          row.oldestAt = Math.min(row.oldestAt, deadLetteredAt);
          byGroup.set(group, row);
        }
        return [...byGroup.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
      }),
  };
  return {
    storage: Object.freeze(storage),
    add(fields) {
      const record: DeadLetterRecord = Object.freeze({
        ...fields,
        error: Object.freeze({ ...fields.error }),
        id: newEventId(),
        deadLetteredAt: clock.now(),
      });
      records.set(record.id, record);
    },
  };
}

function byTimeThenId(
  a: { id: string; deadLetteredAt: number },
  b: { id: string; deadLetteredAt: number },
): number {
  if (a.deadLetteredAt !== b.deadLetteredAt) return a.deadLetteredAt - b.deadLetteredAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A copy whose bytes the receiver may change without touching what the transport keeps. @internal */
export function copyMessage(message: TransportMessage): TransportMessage {
  return Object.freeze({ ...message, body: new Uint8Array(message.body) });
}

function copyRecord(record: DeadLetterRecord): DeadLetterRecord {
  return Object.freeze({ ...record, message: copyMessage(record.message) });
}
