/**
 * The transport contract: what a broker adapter implements. It moves bytes and string headers between
 * processes; typed events, validation, retries and dead-letter policy live above it, in the bus.
 */

/** A message as it travels: the event's attributes in `headers`, its data as JSON bytes in `body`. */
export interface TransportMessage {
  /** The event id; brokers with deduplication use it as the message id. */
  readonly id: string;
  /** Routing name inside the channel: the event type. */
  readonly topic: string;
  /** The ordering key (the event's subject), when it has one. */
  readonly key?: string | undefined;
  /** CloudEvents binary-mode attributes (`ce-*`) and `content-type`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** What a transport can promise; the bus refuses subscriptions that ask for more. */
export interface TransportCapabilities {
  /** Messages survive a restart of the broker and of every consumer. */
  readonly persistent: boolean;
  /** Several groups each get every message, and members of one group share them. */
  readonly consumerGroups: boolean;
  /** `per-subject`: messages with the same key are delivered in publish order, one at a time. */
  readonly ordering: 'none' | 'per-subject';
  /** `nack` with a delay is done by the broker (otherwise delayed retries are unavailable). */
  readonly delayedDelivery: boolean;
  /** The attempt counter is stored by the broker before the handler runs, so it survives crashes. */
  readonly deliveryCounter: boolean;
  /** An unsettled delivery returns to its group after `leaseMs` (a crashed consumer loses nothing). */
  readonly leases: boolean;
  /** Whether redeliveries may produce duplicates beyond those a crash or lost lease explains. */
  readonly duplicates: 'only-after-failure' | 'possible';
  /** The largest body the transport accepts, in bytes. */
  readonly maxMessageBytes: number;
}

/** Facts recorded when a delivery is dead-lettered. */
export interface FailureRecord {
  readonly handler: string;
  readonly error: {
    readonly name: string;
    readonly message: string;
    readonly stack?: string | undefined;
    readonly code?: string | undefined;
  };
  /** How many times the handler ran, over every delivery of the message. */
  readonly attempts: number;
  /** When the message first failed, in ms since the epoch. */
  readonly firstFailedAt: number;
  readonly lastFailedAt: number;
  /** Groups failures that share a cause: error name, normalised message and handler. */
  readonly fingerprint: string;
  /**
   * Why the delivery left the normal flow: retries used up, non-retryable, invalid, crash loop, or (in a
   * projection) held back behind an earlier dead letter of the same stream.
   */
  readonly reason: 'exhausted' | 'non-retryable' | 'invalid' | 'crash-loop' | 'paused';
}

/**
 * One delivery of a message to one member of a group. Exactly one of `ack`, `nack` or `deadLetter`
 * settles it; calls after the first, or after the lease was lost, do nothing.
 */
export interface Delivery {
  readonly message: TransportMessage;
  readonly group: string;
  /** 1 on the first delivery; incremented, and stored, before every redelivery is handed out. */
  readonly attempt: number;
  /** When an earlier delivery of this message failed first, if one did (ms since the epoch). */
  readonly firstFailedAt: number | undefined;
  /** How many times handlers ran on earlier deliveries of this message. */
  readonly previousTries: number;
  /** Done: the message will not be delivered to this group again. */
  ack(): Promise<void>;
  /**
   * Not done: deliver again, after `delayMs` when given (requires `delayedDelivery`). `tries` counts
   * the handler runs of this delivery, so the dead letter can report them all.
   */
  nack(options?: { delayMs?: number; tries?: number; failedAt?: number }): Promise<void>;
  /** Moves the message to this group's dead letters and acks it, atomically where the broker can. */
  deadLetter(failure: FailureRecord): Promise<void>;
  /** Extends the lease while a long handler runs; the consumer calls it periodically. */
  touch(): Promise<void>;
}

/** Called for each delivery; the transport keeps at most `concurrency` of them unsettled at once. */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

/** What a consumer asks of the transport. */
export interface ConsumeOptions {
  readonly channel: string;
  readonly group: string;
  /** Exact topics (event types) to receive. */
  readonly topics: readonly string[];
  /** The largest number of unsettled deliveries at once for this consumer. */
  readonly concurrency: number;
  /** Deliver messages with the same key one at a time, in order (requires `per-subject`). */
  readonly ordered: boolean;
  /** How long an unsettled delivery stays with this consumer before it returns to the group. */
  readonly leaseMs: number;
}

/** A running consumer. */
export interface TransportConsumer {
  /**
   * Stops fetching and waits for the deliveries in flight to settle (up to `timeoutMs`), then releases
   * whatever is still unsettled back to the group. Safe to call twice.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** A dead-lettered message as stored by a transport. */
export interface DeadLetterRecord extends FailureRecord {
  /** The dead letter's own id. */
  readonly id: string;
  readonly channel: string;
  readonly group: string;
  readonly message: TransportMessage;
  /** When it was dead-lettered (ms since the epoch). */
  readonly deadLetteredAt: number;
}

/** The query a dead-letter storage must answer; finer filters are applied by the core. */
export interface DeadLetterQuery {
  readonly group?: string | undefined;
  readonly topic?: string | undefined;
  readonly fingerprint?: string | undefined;
  /** Dead-lettered at or after this time (ms since the epoch). */
  readonly since?: number | undefined;
  readonly limit?: number | undefined;
  /** Resume a listing after this dead letter id (listings are ordered by time, then id). */
  readonly after?: string | undefined;
}

/** Where a transport keeps its dead letters, so that operators can inspect and act on them. */
export interface DeadLetterStorage {
  list(query: DeadLetterQuery): Promise<readonly DeadLetterRecord[]>;
  get(id: string): Promise<DeadLetterRecord | undefined>;
  /** Publishes the message again to its original group only, then removes the dead letter. */
  replay(id: string): Promise<boolean>;
  /** Removes dead letters; returns how many existed. */
  discard(ids: readonly string[]): Promise<number>;
  /** Per group: how many dead letters, and when the oldest was dead-lettered. */
  depth(): Promise<readonly { group: string; count: number; oldestAt: number }[]>;
}

/**
 * A broker adapter. `publish` resolves only once the broker has accepted every message durably (for a
 * persistent transport); delivery is at least once; `close` stops every consumer gracefully first.
 */
export interface Transport {
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  readonly deadLetters: DeadLetterStorage;
  /** Publishes messages to a channel; all or nothing where the broker allows it. */
  publish(channel: string, messages: readonly TransportMessage[]): Promise<void>;
  consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<TransportConsumer>;
  close(): Promise<void>;
}
