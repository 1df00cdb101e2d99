import { AssertionError } from 'node:assert';
import type {
  ConsumeOptions,
  DeadLetterStorage,
  Delivery,
  DeliveryHandler,
  Transport,
  TransportCapabilities,
  TransportMessage,
} from '../transport.ts';

/** One delivery as the ledger saw it; `at` and `settled.at` are positions on the ledger's timeline. */
export interface LedgerDelivery {
  readonly at: number;
  readonly channel: string;
  readonly group: string;
  /** Which `consume` call (0, 1, …) of the recorded transport received it. */
  readonly consumer: number;
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  readonly attempt: number;
  /** The first settling call made on it; later calls do nothing by contract. */
  readonly settled: { readonly kind: 'ack' | 'nack' | 'dead-letter'; readonly at: number } | undefined;
}

/** What the ledger found: counts, and every broken promise as a sentence. */
export interface LedgerReport {
  readonly published: number;
  readonly confirmed: number;
  readonly failed: number;
  readonly deliveries: number;
  /** Per group and message: how many ended acked, and how many dead-lettered. */
  readonly acked: number;
  readonly deadLettered: number;
  /** Deliveries beyond the first of each message in each group. */
  readonly duplicates: number;
  /** Duplicates no nack, lost lease, release or replay explains. */
  readonly unexplainedDuplicates: number;
  readonly problems: readonly string[];
}

/** Records what a transport was asked to do and what it did, then checks the delivery promises. */
export interface Ledger {
  /** The transport to use in the test: the same one, recording every publish, delivery and settlement. */
  readonly transport: Transport;
  /** Declares a group that consumes elsewhere (another process), so its deliveries are expected too. */
  expectGroup(
    channel: string,
    group: string,
    topics: readonly string[],
    options?: { ordered?: boolean },
  ): void;
  /** The deliveries seen so far, in the order they started. */
  deliveries(filter?: { group?: string; id?: string }): readonly LedgerDelivery[];
  /** Checks the ledger against the capabilities (default: those the transport declares). */
  check(capabilities?: TransportCapabilities): LedgerReport;
  /** Like `check`, but throws an `AssertionError` listing every problem. */
  assertConsistent(capabilities?: TransportCapabilities): LedgerReport;
}

interface Batch {
  readonly startedAt: number;
  confirmedAt: number | undefined;
  failed: boolean;
  readonly channel: string;
  readonly messages: readonly {
    readonly id: string;
    readonly key: string | undefined;
    readonly groups: string[];
  }[];
}

interface MutableDelivery extends LedgerDelivery {
  settled: LedgerDelivery['settled'];
}

interface Registration {
  readonly topics: Set<string>;
  ordered: boolean;
}

const MAX_LISTED = 25;

/**
 * Wraps a transport to keep a ledger of publishes, deliveries and settlements, and checks at the end
 * that every confirmed publish ended acked or dead-lettered in every group that was consuming its topic,
 * that per-subject order held where declared, and that duplicates only followed failures.
 *
 * @example
 * const ledger = createLedger(memoryTransport());
 * await runScenario(ledger.transport);
 * ledger.assertConsistent();
 */
export function createLedger(transport: Transport): Ledger {
  let clock = 0;
  const tick = (): number => clock++;
  const batches: Batch[] = [];
  const deliveries: MutableDelivery[] = [];
  const replays: { readonly at: number; readonly group: string; readonly id: string }[] = [];
  const registrations = new Map<string, Map<string, Registration>>();
  let consumers = 0;

  const register = (channel: string, group: string, topics: readonly string[], ordered: boolean): void => {
    let groups = registrations.get(channel);
    if (groups === undefined) registrations.set(channel, (groups = new Map<string, Registration>()));
    const existing = groups.get(group);
    if (existing === undefined) groups.set(group, { topics: new Set(topics), ordered });
    else {
      for (const topic of topics) existing.topics.add(topic);
      existing.ordered &&= ordered;
    }
  };

  const receiversOf = (channel: string, message: TransportMessage): string[] =>
    [...(registrations.get(channel) ?? new Map<string, Registration>())]
      .filter(([, registration]) => registration.topics.has(message.topic))
      .map(([group]) => group);

  const recorded = (options: ConsumeOptions, consumer: number, handler: DeliveryHandler): DeliveryHandler => {
    return (delivery) => {
      const record: MutableDelivery = {
        at: tick(),
        channel: options.channel,
        group: options.group,
        consumer,
        id: delivery.message.id,
        topic: delivery.message.topic,
        key: delivery.message.key,
        attempt: delivery.attempt,
        settled: undefined,
      };
      deliveries.push(record);
      const settle = (kind: 'ack' | 'nack' | 'dead-letter'): void => {
        record.settled ??= { kind, at: tick() };
      };
      const wrapped: Delivery = {
        message: delivery.message,
        group: delivery.group,
        attempt: delivery.attempt,
        firstFailedAt: delivery.firstFailedAt,
        previousTries: delivery.previousTries,
        ack: () => {
          settle('ack');
          return delivery.ack();
        },
        nack: (nackOptions) => {
          settle('nack');
          return delivery.nack(nackOptions);
        },
        deadLetter: (failure) => {
          settle('dead-letter');
          return delivery.deadLetter(failure);
        },
        touch: () => delivery.touch(),
      };
      return handler(Object.freeze(wrapped));
    };
  };

  const recording: Transport = Object.freeze({
    name: transport.name,
    capabilities: transport.capabilities,
    deadLetters: Object.freeze<DeadLetterStorage>({
      list: (query) => transport.deadLetters.list(query),
      get: (id) => transport.deadLetters.get(id),
      discard: (ids) => transport.deadLetters.discard(ids),
      depth: () => transport.deadLetters.depth(),
      async replay(id: string) {
        const record = await transport.deadLetters.get(id);
        // Noted before the call: the redelivery may start before replay() resolves.
        const replay = record && { at: tick(), group: record.group, id: record.message.id };
        if (replay !== undefined) replays.push(replay);
        const replayed = await transport.deadLetters.replay(id);
        if (!replayed && replay !== undefined) replays.splice(replays.indexOf(replay), 1);
        return replayed;
      },
    }),
    async publish(channel: string, messages: readonly TransportMessage[]) {
      const batch: Batch = {
        startedAt: tick(),
        confirmedAt: undefined,
        failed: false,
        channel,
        messages: messages.map((m) => ({ id: m.id, key: m.key, groups: receiversOf(channel, m) })),
      };
      batches.push(batch);
      try {
        await transport.publish(channel, messages);
        batch.confirmedAt = tick();
      } catch (error) {
        batch.failed = true;
        throw error;
      }
    },
    async consume(options: ConsumeOptions, handler: DeliveryHandler) {
      const consumer = await transport.consume(options, recorded(options, consumers++, handler));
      register(options.channel, options.group, options.topics, options.ordered);
      return consumer;
    },
    close: () => transport.close(),
  });

  const check = (capabilities: TransportCapabilities = transport.capabilities): LedgerReport => {
    const problems: string[] = [];
    const lives = new Map<string, MutableDelivery[]>();
    for (const delivery of deliveries) {
      const key = `${delivery.channel}\u0000${delivery.group}\u0000${delivery.id}`;
      const list = lives.get(key) ?? [];
      list.push(delivery);
      lives.set(key, list);
    }
    const of = (channel: string, group: string, id: string): MutableDelivery[] =>
      lives.get(`${channel}\u0000${group}\u0000${id}`) ?? [];
    const replayedBetween = (group: string, id: string, from: number, to: number): boolean =>
      replays.some((r) => r.group === group && r.id === id && r.at > from && r.at < to);

    // The settling call that ended a message's first life: an ack or dead letter made by the newest
    // delivery of the moment (a stale holder's late ack ends nothing).
    const finalSettlement = (list: readonly MutableDelivery[]): number | undefined => {
      for (const [index, delivery] of list.entries()) {
        const { settled } = delivery;
        if (settled === undefined || settled.kind === 'nack') continue;
        const next = list[index + 1];
        if (next === undefined || next.at > settled.at) return settled.at;
      }
      return undefined;
    };

    let acked = 0;
    let deadLettered = 0;
    for (const batch of batches) {
      if (batch.confirmedAt === undefined) continue;
      for (const message of batch.messages) {
        for (const group of message.groups) {
          const list = of(batch.channel, group, message.id);
          const last = list.at(-1);
          if (last === undefined)
            problems.push(`${message.id} was confirmed but never delivered to group ${group}`);
          else if (last.settled?.kind === 'ack') acked += 1;
          else if (last.settled?.kind === 'dead-letter') deadLettered += 1;
          else {
            problems.push(
              `${message.id} in group ${group} ended ${last.settled === undefined ? 'unsettled' : 'nacked'} ` +
                `(attempt ${last.attempt}): neither acked nor dead-lettered`,
            );
          }
        }
      }
    }

    let duplicates = 0;
    let unexplained = 0;
    for (const list of lives.values()) {
      for (let index = 1; index < list.length; index += 1) {
        const previous = list[index - 1] as MutableDelivery;
        const delivery = list[index] as MutableDelivery;
        duplicates += 1;
        const settled = previous.settled;
        const replayed = replayedBetween(
          delivery.group,
          delivery.id,
          settled?.at ?? previous.at,
          delivery.at,
        );
        const explained =
          settled === undefined || settled.kind === 'nack' || settled.at > delivery.at || replayed;
        if (!explained) {
          unexplained += 1;
          if (capabilities.duplicates === 'only-after-failure') {
            problems.push(
              `${delivery.id} was delivered again to group ${delivery.group} (attempt ${delivery.attempt}) ` +
                `after it had been ${settled.kind === 'ack' ? 'acked' : 'dead-lettered'}, with no failure in between`,
            );
          }
        }
        if (capabilities.deliveryCounter && !replayed && delivery.attempt <= previous.attempt) {
          problems.push(
            `${delivery.id} in group ${delivery.group}: attempt ${delivery.attempt} follows attempt ${previous.attempt}; ` +
              'the counter must grow with every redelivery',
          );
        }
      }
    }

    if (capabilities.ordering === 'per-subject') {
      const confirmed = batches.filter((batch) => batch.confirmedAt !== undefined);
      for (const [channel, groups] of registrations) {
        for (const [group, registration] of groups) {
          if (!registration.ordered) continue;
          const sequence = confirmed
            .filter((batch) => batch.channel === channel)
            .flatMap((batch) =>
              batch.messages
                .filter((m) => m.key !== undefined && m.groups.includes(group))
                .map((m, position) => ({ ...m, batch, position })),
            );
          for (const [i, earlier] of sequence.entries()) {
            for (const later of sequence.slice(i + 1)) {
              if (later.key !== earlier.key) continue;
              const before =
                earlier.batch === later.batch
                  ? earlier.position < later.position
                  : (earlier.batch.confirmedAt ?? Infinity) < later.batch.startedAt;
              if (!before) continue;
              const done = finalSettlement(of(channel, group, earlier.id));
              const started = of(channel, group, later.id)[0]?.at;
              if (done !== undefined && started !== undefined && started < done) {
                problems.push(
                  `group ${group}, subject ${String(later.key)}: ${later.id} was delivered before ${earlier.id}, ` +
                    'published earlier, was settled',
                );
              }
            }
          }
        }
      }
    }

    const listed =
      problems.length > MAX_LISTED
        ? [...problems.slice(0, MAX_LISTED), `… and ${problems.length - MAX_LISTED} more`]
        : problems;
    return {
      published: batches.reduce((sum, batch) => sum + batch.messages.length, 0),
      confirmed: batches.reduce(
        (sum, batch) => sum + (batch.confirmedAt === undefined ? 0 : batch.messages.length),
        0,
      ),
      failed: batches.reduce((sum, batch) => sum + (batch.failed ? batch.messages.length : 0), 0),
      deliveries: deliveries.length,
      acked,
      deadLettered,
      duplicates,
      unexplainedDuplicates: unexplained,
      problems: listed,
    };
  };

  return {
    transport: recording,
    expectGroup(channel, group, topics, options = {}) {
      register(channel, group, topics, options.ordered ?? false);
    },
    deliveries(filter = {}) {
      return deliveries.filter(
        (d) =>
          (filter.group === undefined || d.group === filter.group) &&
          (filter.id === undefined || d.id === filter.id),
      );
    },
    check,
    assertConsistent(capabilities) {
      const report = check(capabilities);
      if (report.problems.length > 0) {
        throw new AssertionError({
          message: `The ledger of ${transport.name} found ${report.problems.length} broken promise(s):\n- ${report.problems.join('\n- ')}`,
        });
      }
      return report;
    },
  };
}
