import { createHash } from 'node:crypto';
import type { Event } from './envelope.ts';
import { fromTransportMessage } from './message.ts';
import type { DeadLetterQuery, DeadLetterRecord, DeadLetterStorage } from './transport.ts';

/** A dead letter as operators see it: the stored record plus the event, when it can be read. */
export interface DeadLetter extends DeadLetterRecord {
  /** The event type (the message topic). */
  readonly type: string;
  /** The event's envelope and raw data; undefined when the message is not a readable event. */
  readonly event: Event | undefined;
}

/** Which dead letters an operation applies to; every given field must match. */
export interface DeadLetterFilter {
  readonly group?: string;
  readonly type?: string;
  /** A substring of, or a pattern for, the error message or name. */
  readonly error?: string | RegExp;
  readonly fingerprint?: string;
  /** Dead-lettered at or after. */
  readonly since?: Date | number;
  readonly reason?: DeadLetterRecord['reason'];
}

/** Dead letters that share a fingerprint: one bug, usually. */
export interface FailureGroup {
  readonly fingerprint: string;
  readonly group: string;
  readonly handler: string;
  readonly errorName: string;
  readonly errorMessage: string;
  readonly count: number;
  readonly types: readonly string[];
  readonly firstAt: number;
  readonly lastAt: number;
}

/** Progress of a bulk operation, reported after each dead letter. */
export interface BulkProgress {
  readonly done: number;
  readonly total: number;
}

/** The operator's view of the dead letters of a transport. */
export interface DeadLetters {
  list(filter?: DeadLetterFilter & { limit?: number }): Promise<readonly DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  /**
   * Publishes the message again to its original group only; the dead letter is removed only once the
   * republish is accepted.
   */
  replay(
    target: string | DeadLetterFilter,
    options?: { onProgress?: (progress: BulkProgress) => void },
  ): Promise<{ replayed: number }>;
  discard(
    target: string | DeadLetterFilter,
    options?: { onProgress?: (progress: BulkProgress) => void },
  ): Promise<{ discarded: number }>;
  /** Per group: how many dead letters, and the age of the oldest. */
  depth(): Promise<readonly { group: string; count: number; oldestAt: number; oldestAgeMs: number }[]>;
  /** Dead letters grouped by fingerprint, largest group first. */
  groups(filter?: DeadLetterFilter): Promise<readonly FailureGroup[]>;
}

const PAGE = 500;

/**
 * Wraps a transport's dead-letter storage with the operations operators need: filters, fingerprint
 * groups, bulk replay and discard with progress.
 *
 * @example
 * const deadLetters = createDeadLetters(transport.deadLetters);
 * for (const group of await deadLetters.groups()) console.log(group.count, group.errorMessage);
 * await deadLetters.replay({ fingerprint: 'a1b2c3d4e5f6' });
 */
export function createDeadLetters(
  storage: DeadLetterStorage,
  options: { now?: () => number } = {},
): DeadLetters {
  const now = options.now ?? Date.now;

  async function* matching(filter: DeadLetterFilter): AsyncGenerator<DeadLetter> {
    const since = filter.since instanceof Date ? filter.since.getTime() : filter.since;
    const query: DeadLetterQuery = {
      group: filter.group,
      topic: filter.type,
      fingerprint: filter.fingerprint,
      since,
      limit: PAGE,
    };
    let after: string | undefined;
    for (;;) {
      const page = await storage.list({ ...query, after });
      for (const record of page) {
        if (matchesRest(record, filter)) yield view(record);
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1]?.id;
    }
  }

  const collect = async (
    filter: DeadLetterFilter,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<DeadLetter[]> => {
    const found: DeadLetter[] = [];
    for await (const deadLetter of matching(filter)) {
      if (found.length >= limit) break;
      found.push(deadLetter);
    }
    return found;
  };

  const targets = async (target: string | DeadLetterFilter): Promise<string[]> => {
    if (typeof target === 'string') return [target];
    return (await collect(target)).map((deadLetter) => deadLetter.id);
  };

  return {
    list: async ({ limit, ...filter } = {}) => collect(filter, limit),
    async get(id) {
      const record = await storage.get(id);
      return record === undefined ? undefined : view(record);
    },
    async replay(target, { onProgress } = {}) {
      const ids = await targets(target);
      let replayed = 0;
      for (const [index, id] of ids.entries()) {
        if (await storage.replay(id)) replayed += 1;
        onProgress?.({ done: index + 1, total: ids.length });
      }
      return { replayed };
    },
    async discard(target, { onProgress } = {}) {
      const ids = await targets(target);
      let discarded = 0;
      for (let start = 0; start < ids.length; start += PAGE) {
        discarded += await storage.discard(ids.slice(start, start + PAGE));
        onProgress?.({ done: Math.min(ids.length, start + PAGE), total: ids.length });
      }
      return { discarded };
    },
    async depth() {
      const current = now();
      return (await storage.depth()).map((row) => ({
        ...row,
        oldestAgeMs: Math.max(0, current - row.oldestAt),
      }));
    },
    async groups(filter = {}) {
      const groups = new Map<string, { group: FailureGroup; types: Set<string> }>();
      for await (const deadLetter of matching(filter)) {
        const key = `${deadLetter.group}|${deadLetter.fingerprint}`;
        const found = groups.get(key);
        if (found === undefined) {
          groups.set(key, {
            types: new Set([deadLetter.type]),
            group: {
              fingerprint: deadLetter.fingerprint,
              group: deadLetter.group,
              handler: deadLetter.handler,
              errorName: deadLetter.error.name,
              errorMessage: deadLetter.error.message,
              count: 1,
              types: [],
              firstAt: deadLetter.deadLetteredAt,
              lastAt: deadLetter.deadLetteredAt,
            },
          });
        } else {
          found.types.add(deadLetter.type);
          found.group = {
            ...found.group,
            count: found.group.count + 1,
            firstAt: Math.min(found.group.firstAt, deadLetter.deadLetteredAt),
            lastAt: Math.max(found.group.lastAt, deadLetter.deadLetteredAt),
          };
        }
      }
      return [...groups.values()]
        .map(({ group, types }) => ({ ...group, types: [...types].sort() }))
        .sort((a, b) => b.count - a.count || a.fingerprint.localeCompare(b.fingerprint));
    },
  };
}

function matchesRest(record: DeadLetterRecord, filter: DeadLetterFilter): boolean {
  if (filter.reason !== undefined && record.reason !== filter.reason) return false;
  if (filter.error === undefined) return true;
  const text = `${record.error.name}: ${record.error.message}`;
  return typeof filter.error === 'string' ? text.includes(filter.error) : filter.error.test(text);
}

function view(record: DeadLetterRecord): DeadLetter {
  let event: Event | undefined;
  try {
    event = fromTransportMessage(record.message);
  } catch {
    event = undefined;
  }
  return { ...record, type: record.message.topic, event };
}

/**
 * A short fingerprint of a failure: the error name, its message with ids, numbers and quoted values
 * blanked out, and the handler; equal fingerprints usually mean one bug.
 */
export function failureFingerprint(errorName: string, message: string, handler: string): string {
  const normalised = message
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
    .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '<text>')
    .replace(/\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/\d+(\.\d+)?/g, '<n>');
  return createHash('sha256').update(`${errorName}\n${normalised}\n${handler}`).digest('hex').slice(0, 12);
}

/** Turns anything thrown into the error facts a dead letter keeps. @internal */
export function describeError(error: unknown): {
  name: string;
  message: string;
  stack?: string;
  code?: string;
} {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  let message: string;
  try {
    message = typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    message = String(error);
  }
  return { name: 'NonError', message: `A non-Error value was thrown: ${message}` };
}
