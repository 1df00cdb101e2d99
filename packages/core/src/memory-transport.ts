import { type Clock, systemClock } from './clock.ts';
import { copyMessage, createDeadLetterShelf, promised } from './memory-dead-letters.ts';
import { invalidOptions, TidingsError } from './errors.ts';
import type {
  ConsumeOptions,
  Delivery,
  DeliveryHandler,
  FailureRecord,
  Transport,
  TransportCapabilities,
  TransportConsumer,
  TransportMessage,
} from './transport.ts';

/** Options of {@link memoryTransport}. */
export interface MemoryTransportOptions {
  /** Times nack delays, leases and close timeouts (default: the system clock). Pass a manual clock in tests. */
  clock?: Clock | undefined;
  /** The largest body accepted, in bytes (default 16 MiB). */
  maxMessageBytes?: number | undefined;
}

/** How long `close()` waits for deliveries in flight when the caller gives no timeout. */
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
// A ready-made reason: aborting without one builds a DOMException, with its stack, per delivery.
const LEASE_ENDED = new Error('lease ended');

interface Entry {
  readonly seq: number;
  /** A frozen copy that nobody outside the transport holds. */
  readonly message: TransportMessage;
  deliveries: number;
  tries: number;
  firstFailedAt: number | undefined;
  availableAt: number;
  /** The delivery that holds the message now; its identity is the lease token. */
  holder: Holder | undefined;
}

interface Holder {
  readonly group: Group;
  readonly entry: Entry;
  readonly consumer: Consumer;
  /** Ends the lease timer; replaced when the lease is renewed. */
  cancelLease: () => void;
}

interface Group {
  readonly channel: string;
  readonly name: string;
  readonly topics: Set<string>;
  /** Waiting and handed-out messages, in publish order (a nacked message keeps its place). */
  readonly entries: Map<number, Entry>;
  readonly consumers: Consumer[];
  /** Where the round robin over members starts next. */
  next: number;
  pumpScheduled: boolean;
}

interface Consumer {
  readonly options: ConsumeOptions;
  readonly topics: ReadonlySet<string>;
  readonly handler: DeliveryHandler;
  readonly holders: Set<Holder>;
  open: boolean;
  closing: Promise<void> | undefined;
  onDrained: (() => void) | undefined;
}

const noop = (): void => {};

/**
 * The in-process transport: the reference implementation of the transport contract, for tests and
 * single-process apps. Nothing survives the process; every timer runs on the given clock.
 *
 * Groups exist from their first `consume` and then receive every later message of their topics, even
 * while no member is connected; members of a group share its messages. With `ordered`, messages with
 * the same key are handed out one at a time in publish order, and a nacked message keeps its place.
 * A handler that rejects without settling its delivery has it nacked at once.
 *
 * @example
 * const clock = createManualClock();
 * const transport = memoryTransport({ clock });
 * const bus = createBus({ transport, catalog, clock });
 */
export function memoryTransport(options: MemoryTransportOptions = {}): Transport {
  const clock = options.clock ?? systemClock;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const problems: string[] = [];
  if (typeof clock?.now !== 'function' || typeof clock.sleep !== 'function') {
    problems.push('clock must have now() and sleep(ms, signal), such as systemClock or createManualClock()');
  }
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1) {
    problems.push(`maxMessageBytes must be a positive integer (got ${String(maxMessageBytes)})`);
  }
  if (problems.length > 0) throw invalidOptions('memoryTransport', problems);

  const capabilities: TransportCapabilities = Object.freeze({
    persistent: false,
    consumerGroups: true,
    ordering: 'per-subject',
    delayedDelivery: true,
    deliveryCounter: true,
    leases: true,
    duplicates: 'only-after-failure',
    maxMessageBytes,
  });
  const channels = new Map<string, Map<string, Group>>();
  const timers = new AbortController();
  let seq = 0;
  let closing: Promise<void> | undefined;

  const ensureOpen = (what: string): void => {
    if (closing !== undefined) {
      throw new TidingsError(
        'TIDINGS_CLOSED',
        `Cannot ${what}: this memory transport is closed. Create a new one.`,
      );
    }
  };

  const groupOf = (channel: string, name: string): Group => {
    let groups = channels.get(channel);
    if (groups === undefined) channels.set(channel, (groups = new Map<string, Group>()));
    let group = groups.get(name);
    if (group === undefined) {
      group = {
        channel,
        name,
        topics: new Set(),
        entries: new Map(),
        consumers: [],
        next: 0,
        pumpScheduled: false,
      };
      groups.set(name, group);
    }
    return group;
  };

  const enqueue = (group: Group, message: TransportMessage): void => {
    seq += 1;
    const entry: Entry = {
      seq,
      message,
      deliveries: 0,
      tries: 0,
      firstFailedAt: undefined,
      availableAt: Number.NEGATIVE_INFINITY,
      holder: undefined,
    };
    group.entries.set(seq, entry);
    schedulePump(group);
  };

  const schedulePump = (group: Group): void => {
    if (group.pumpScheduled) return;
    group.pumpScheduled = true;
    // A macrotask, not a microtask: a handler that nacks at once must not starve timers and I/O.
    setImmediate(() => {
      group.pumpScheduled = false;
      pump(group);
    });
  };

  const hasRoom = (consumer: Consumer): boolean =>
    consumer.open && consumer.holders.size < consumer.options.concurrency;

  const pickMember = (group: Group, topic: string): Consumer | undefined => {
    const count = group.consumers.length;
    for (let i = 0; i < count; i += 1) {
      const index = (group.next + i) % count;
      const consumer = group.consumers[index];
      if (consumer !== undefined && hasRoom(consumer) && consumer.topics.has(topic)) {
        group.next = index + 1;
        return consumer;
      }
    }
    return undefined;
  };

  // Hands out every message that may go now. With ordering, a key stays blocked while one of its
  // messages is handed out or waiting ahead (delayed, or no member free), so its order survives nacks.
  const pump = (group: Group): void => {
    if (!group.consumers.some(hasRoom)) return;
    const ordered = group.consumers.some((consumer) => consumer.open && consumer.options.ordered);
    const blocked = new Set<string>();
    if (ordered) {
      for (const entry of group.entries.values()) {
        if (entry.holder !== undefined && entry.message.key !== undefined) blocked.add(entry.message.key);
      }
    }
    const now = clock.now();
    for (const entry of group.entries.values()) {
      if (entry.holder !== undefined) continue;
      const key = ordered ? entry.message.key : undefined;
      if (key !== undefined && blocked.has(key)) continue;
      const member = entry.availableAt <= now ? pickMember(group, entry.message.topic) : undefined;
      if (key !== undefined) blocked.add(key);
      if (member === undefined) continue;
      handOut(group, entry, member);
      if (!group.consumers.some(hasRoom)) return;
    }
  };

  const leaseRunsOut = (holder: Holder): void => {
    const { entry } = holder;
    if (entry.holder !== holder) return;
    // The handler ran, whether or not it is still running: count it, as a crash would be counted.
    entry.tries += 1;
    entry.firstFailedAt ??= clock.now();
    release(holder);
  };

  // The clock's timer where it has one: an AbortController and a sleep per delivery cost far more.
  const startLease = (holder: Holder): void => {
    const ms = holder.consumer.options.leaseMs;
    if (clock.timer !== undefined) {
      holder.cancelLease = clock.timer(ms, () => leaseRunsOut(holder));
      return;
    }
    const lease = new AbortController();
    holder.cancelLease = () => lease.abort(LEASE_ENDED);
    clock.sleep(ms, lease.signal).then(() => leaseRunsOut(holder), noop);
  };

  /** Takes the message back from `holder`; false when the holder had already lost it. */
  const release = (holder: Holder): boolean => {
    const { entry, consumer, group } = holder;
    if (entry.holder !== holder) return false;
    entry.holder = undefined;
    holder.cancelLease();
    consumer.holders.delete(holder);
    if (consumer.holders.size === 0) consumer.onDrained?.();
    schedulePump(group);
    return true;
  };

  const handOut = (group: Group, entry: Entry, consumer: Consumer): void => {
    entry.deliveries += 1;
    const holder: Holder = { group, entry, consumer, cancelLease: noop };
    entry.holder = holder;
    consumer.holders.add(holder);
    startLease(holder);
    const delivery = createDelivery(holder);
    Promise.resolve()
      .then(() => consumer.handler(delivery))
      .catch(() => {
        if (entry.holder === holder) void delivery.nack();
      });
  };

  const createDelivery = (holder: Holder): Delivery => {
    const { entry, group } = holder;
    return Object.freeze({
      message: copyMessage(entry.message),
      group: group.name,
      attempt: entry.deliveries,
      firstFailedAt: entry.firstFailedAt,
      previousTries: entry.tries,
      ack: () =>
        promised(() => {
          if (release(holder)) group.entries.delete(entry.seq);
        }),
      nack: (nackOptions: { delayMs?: number; tries?: number; failedAt?: number } = {}) =>
        promised(() => {
          const { delayMs = 0, tries = 1, failedAt } = nackOptions;
          const wrong: string[] = [];
          if (!(delayMs >= 0 && Number.isFinite(delayMs)))
            wrong.push(`delayMs must be 0 or more (got ${delayMs})`);
          if (!(Number.isInteger(tries) && tries >= 0))
            wrong.push(`tries must be an integer of 0 or more (got ${tries})`);
          if (wrong.length > 0) throw invalidOptions('nack', wrong);
          if (entry.holder !== holder) return;
          const now = clock.now();
          entry.tries += tries;
          entry.firstFailedAt ??= failedAt ?? now;
          entry.availableAt = now + delayMs;
          release(holder);
          // Node's timers may fire a millisecond before Date.now() says the time has come, and the pump
          // then finds the message not yet due: sleep again for what is left rather than lose it.
          const due = (): void => {
            const left = entry.availableAt - clock.now();
            if (left > 0) clock.sleep(left, timers.signal).then(due, noop);
            else schedulePump(group);
          };
          if (delayMs > 0) clock.sleep(delayMs, timers.signal).then(due, noop);
        }),
      deadLetter: (failure: FailureRecord) =>
        promised(() => {
          if (!release(holder)) return;
          group.entries.delete(entry.seq);
          shelf.add({ ...failure, channel: group.channel, group: group.name, message: entry.message });
        }),
      touch: () =>
        promised(() => {
          if (entry.holder !== holder) return;
          holder.cancelLease();
          startLease(holder);
        }),
    });
  };

  const closeConsumer = (consumer: Consumer, timeoutMs: number): Promise<void> => {
    consumer.closing ??= (async () => {
      consumer.open = false;
      if (consumer.holders.size > 0) {
        const timeout = new AbortController();
        const drained = new Promise<void>((resolve) => {
          consumer.onDrained = resolve;
        });
        await Promise.race([drained, clock.sleep(timeoutMs, timeout.signal).catch(noop)]);
        timeout.abort();
      }
      // Whatever is still unsettled goes back to the group, for another member to take. Its handler
      // ran without finishing: that counts as a try, as a crash would.
      for (const holder of [...consumer.holders]) {
        holder.entry.tries += 1;
        release(holder);
      }
      const group = groupOf(consumer.options.channel, consumer.options.group);
      group.consumers.splice(group.consumers.indexOf(consumer), 1);
      schedulePump(group);
    })();
    return consumer.closing;
  };

  const shelf = createDeadLetterShelf(clock, (record) => {
    ensureOpen('replay a dead letter');
    enqueue(groupOf(record.channel, record.group), record.message);
  });

  return Object.freeze({
    name: 'memory',
    capabilities,
    deadLetters: shelf.storage,
    publish: (channel: string, messages: readonly TransportMessage[]) =>
      promised(() => {
        ensureOpen('publish');
        const problems =
          typeof channel === 'string' && channel !== '' ? [] : ['channel must be a non-empty string'];
        if (!Array.isArray(messages)) problems.push('messages must be an array of transport messages');
        if (problems.length > 0) throw invalidOptions('publish', problems);
        // Check everything before storing anything: a publish is all or nothing.
        const copies = messages.map((message, index) => checkedCopy(message, index, maxMessageBytes));
        for (const message of copies) {
          for (const group of channels.get(channel)?.values() ?? []) {
            if (group.topics.has(message.topic)) enqueue(group, message);
          }
        }
      }),
    consume: (consumeOptions: ConsumeOptions, handler: DeliveryHandler) =>
      promised((): TransportConsumer => {
        ensureOpen('consume');
        checkConsumeOptions(consumeOptions, handler);
        const group = groupOf(consumeOptions.channel, consumeOptions.group);
        const consumer: Consumer = {
          options: { ...consumeOptions, topics: [...consumeOptions.topics] },
          topics: new Set(consumeOptions.topics),
          handler,
          holders: new Set(),
          open: true,
          closing: undefined,
          onDrained: undefined,
        };
        for (const topic of consumer.topics) group.topics.add(topic);
        group.consumers.push(consumer);
        schedulePump(group);
        return Object.freeze({
          close: (closeOptions: { timeoutMs?: number } = {}) =>
            closeConsumer(consumer, closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS),
        });
      }),
    close() {
      closing ??= (async () => {
        const consumers = [...channels.values()].flatMap((groups) =>
          [...groups.values()].flatMap((g) => g.consumers),
        );
        await Promise.all(consumers.map((consumer) => closeConsumer(consumer, DEFAULT_CLOSE_TIMEOUT_MS)));
        timers.abort();
      })();
      return closing;
    },
  });
}

/** Runs `work` now and hands its outcome over as a promise, as the asynchronous contract asks. */
function checkedCopy(message: TransportMessage, index: number, maxBytes: number): TransportMessage {
  const problems: string[] = [];
  if (typeof message !== 'object' || message === null) {
    throw new TidingsError(
      'TIDINGS_MALFORMED',
      `messages[${index}] is not a transport message; build it with toTransportMessage(event).`,
    );
  }
  if (typeof message.id !== 'string' || message.id.length === 0)
    problems.push('id must be a non-empty string');
  if (typeof message.topic !== 'string' || message.topic.length === 0)
    problems.push('topic must be a non-empty string');
  if (message.key !== undefined && typeof message.key !== 'string')
    problems.push('key must be a string when present');
  const headers = message.headers as unknown;
  if (
    typeof headers !== 'object' ||
    headers === null ||
    Object.values(headers).some((v) => typeof v !== 'string')
  ) {
    problems.push('headers must be an object of string values');
  }
  if (!(message.body instanceof Uint8Array)) problems.push('body must be a Uint8Array');
  if (problems.length > 0) {
    throw new TidingsError(
      'TIDINGS_MALFORMED',
      `messages[${index}] is not a valid transport message: ${problems.join('; ')}.`,
      {
        details: { problems },
      },
    );
  }
  if (message.body.byteLength > maxBytes) {
    throw new TidingsError(
      'TIDINGS_UNSUPPORTED',
      `Message ${message.id} has a ${message.body.byteLength}-byte body; this transport accepts at most ${maxBytes}. ` +
        'Keep large payloads elsewhere and publish a reference to them, or raise maxMessageBytes.',
      { details: { id: message.id, bytes: message.body.byteLength, maxMessageBytes: maxBytes } },
    );
  }
  const copy: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: message.id,
    topic: message.topic,
    headers: Object.freeze({ ...message.headers }),
    // The constructor copies the bytes, where Buffer#slice would share them.
    body: new Uint8Array(message.body),
  };
  if (message.key !== undefined) copy.key = message.key;
  return Object.freeze(copy);
}

function checkConsumeOptions(options: ConsumeOptions, handler: DeliveryHandler): void {
  const problems: string[] = [];
  const text = (name: 'channel' | 'group'): void => {
    if (typeof options?.[name] !== 'string' || options[name].length === 0)
      problems.push(`${name} must be a non-empty string`);
  };
  text('channel');
  text('group');
  if (
    !Array.isArray(options?.topics) ||
    options.topics.length === 0 ||
    options.topics.some((t) => typeof t !== 'string' || t === '')
  ) {
    problems.push('topics must be a non-empty array of topic names');
  }
  if (!Number.isInteger(options?.concurrency) || options.concurrency < 1) {
    problems.push(`concurrency must be an integer of 1 or more (got ${String(options?.concurrency)})`);
  }
  if (!Number.isFinite(options?.leaseMs) || options.leaseMs <= 0) {
    problems.push(`leaseMs must be a positive number of milliseconds (got ${String(options?.leaseMs)})`);
  }
  if (typeof options?.ordered !== 'boolean') problems.push('ordered must be true or false');
  if (typeof handler !== 'function') problems.push('handler must be a function receiving each delivery');
  if (problems.length > 0) throw invalidOptions('consume', problems);
}
