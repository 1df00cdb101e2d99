import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { TidingsError } from '@tidings/core';
import { type Connection, translate } from './client.ts';
import type { Names } from './mapping.ts';
import type { ResolvedTransportOptions } from './options.ts';

/** How long the facts of a nacked message are kept when nothing settles it (7 days). */
const TRIES_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** What earlier deliveries of a message to a group recorded when they were nacked. @internal */
export interface TriesFacts {
  readonly tries: number;
  readonly firstFailedAt: number | undefined;
}

/**
 * The JetStream resources of one transport: the streams it creates when they are missing, the
 * durable consumers of its groups, and the small store of failure facts that carries `tries` and
 * `firstFailedAt` from a nack to the next delivery.
 *
 * @internal
 */
export interface Streams {
  client(): Promise<{ js: JetStreamClient; jsm: JetStreamManager }>;
  ensureChannel(channel: string): Promise<void>;
  ensureDeadLetters(): Promise<void>;
  ensureConsumer(channel: string, group: string, leaseMs: number, concurrency: number): Promise<void>;
  /** Forgets what was ensured, after the server said a stream or consumer is gone. */
  forget(channel: string): void;
  readTries(
    channel: string,
    group: string,
    sequence: number,
    messageId: string,
  ): Promise<TriesFacts | undefined>;
  writeTries(
    channel: string,
    group: string,
    sequence: number,
    messageId: string,
    facts: TriesFacts,
  ): Promise<void>;
  clearTries(channel: string, group: string, sequence: number): Promise<void>;
}

/** JetStream's API error codes the transport acts on. @internal */
export const API = {
  streamNotFound: 10059,
  consumerNotFound: 10014,
  streamNameInUse: 10058,
  consumerExists: 10148,
  noMessage: 10037,
} as const;

/** The API error code of a JetStream error, if it has one. @internal */
export function apiCode(error: unknown): number | undefined {
  const apiError = (error as { api_error?: { err_code?: unknown } } | null)?.api_error;
  if (typeof apiError?.err_code === 'number') return apiError.err_code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code > 10_000 ? code : undefined;
}

/** @internal */
export function createStreams(
  connection: Connection,
  names: Names,
  options: ResolvedTransportOptions,
): Streams {
  let clients: Promise<{ js: JetStreamClient; jsm: JetStreamManager }> | undefined;
  const ensured = new Map<string, Promise<void>>();
  const timeout = options.requestTimeoutMs;

  const client = (): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> => {
    clients ??= (async () => {
      const nc = await connection.ready();
      const jsm = await jetstreamManager(nc, { timeout, checkAPI: false });
      return { js: jetstream(nc, { timeout }), jsm };
    })();
    clients.catch(() => {
      clients = undefined;
    });
    return clients;
  };

  /** Creates a stream when it is missing; an existing one is kept as it is (see the docs). */
  const ensureStream = async (
    config: Partial<StreamConfig> & { name: string; subjects: string[] },
  ): Promise<void> => {
    const { jsm } = await client();
    const check = (existing: StreamConfig): void => {
      const subjects = existing.subjects ?? [];
      if (!config.subjects.every((subject) => subjects.includes(subject))) {
        throw new TidingsError(
          'TIDINGS_INVALID_OPTIONS',
          `JetStream stream ${config.name} exists with subjects ${JSON.stringify(subjects)}, not ` +
            `${JSON.stringify(config.subjects)}: it is not one the nats transport made. Use another prefix, ` +
            'or delete that stream.',
        );
      }
    };
    try {
      check((await jsm.streams.info(config.name)).config);
      return;
    } catch (error) {
      if (apiCode(error) !== API.streamNotFound) throw error;
    }
    try {
      await jsm.streams.add(config);
    } catch (error) {
      // Another process created it meanwhile.
      if (apiCode(error) !== API.streamNameInUse) throw error;
      check((await jsm.streams.info(config.name)).config);
    }
  };

  const once = (key: string, make: () => Promise<void>): Promise<void> => {
    let pending = ensured.get(key);
    if (pending === undefined) {
      pending = make().catch((error: unknown) => {
        ensured.delete(key);
        throw translate(error, `preparing ${key}`);
      });
      ensured.set(key, pending);
    }
    return pending;
  };

  const common = {
    storage: StorageType.File,
    num_replicas: options.replicas,
    duplicate_window: nanos(options.duplicateWindowMs),
  };

  const ensureChannel = (channel: string): Promise<void> =>
    once(`stream ${names.channelStream(channel)}`, () =>
      ensureStream({
        ...common,
        name: names.channelStream(channel),
        subjects: [names.channelSubjects(channel)],
        description: `Tidings channel ${channel}`,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        ...(options.maxAgeMs === undefined ? {} : { max_age: nanos(options.maxAgeMs) }),
      }),
    );

  const ensureDeadLetters = (): Promise<void> =>
    once(`stream ${names.deadLetterStream}`, () =>
      ensureStream({
        ...common,
        name: names.deadLetterStream,
        subjects: [names.deadLetterFilter],
        description: 'Tidings dead letters',
        retention: RetentionPolicy.Limits,
      }),
    );

  const ensureTries = (): Promise<void> =>
    once(`stream ${names.triesStream}`, () =>
      ensureStream({
        ...common,
        name: names.triesStream,
        subjects: [`${names.prefix}.tries.>`],
        description: 'Tidings failure facts of nacked messages, per group',
        retention: RetentionPolicy.Limits,
        max_msgs_per_subject: 1,
        max_age: nanos(TRIES_MAX_AGE_MS),
      }),
    );

  const ensureConsumer = async (
    channel: string,
    group: string,
    leaseMs: number,
    concurrency: number,
  ): Promise<void> => {
    await ensureChannel(channel);
    const { jsm } = await client();
    const stream = names.channelStream(channel);
    const durable = names.consumer(group);
    const filter = names.channelSubjects(channel);
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      description: `Tidings group ${group}`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(leaseMs),
      // Unlimited: the bus decides when a message has failed often enough to be dead-lettered.
      max_deliver: -1,
      max_ack_pending: Math.max(options.maxAckPending, concurrency),
      filter_subject: filter,
      // A group receives what is published after it first consumed, like every Tidings transport.
      deliver_policy: DeliverPolicy.New,
      replay_policy: ReplayPolicy.Instant,
    };
    try {
      const existing = (await jsm.consumers.info(stream, durable)).config;
      if (existing.filter_subject !== undefined && existing.filter_subject !== filter) {
        throw new TidingsError(
          'TIDINGS_INVALID_OPTIONS',
          `JetStream consumer ${durable} on ${stream} filters ${existing.filter_subject}, not ${filter}: it is not ` +
            'one the nats transport made. Use another group name or prefix, or delete that consumer.',
        );
      }
      // The newest member's lease wins: ack_wait is one setting for the whole group.
      const wantedPending = Math.max(existing.max_ack_pending ?? 0, concurrency);
      const ackWait = nanos(leaseMs);
      if (existing.ack_wait !== ackWait || existing.max_ack_pending !== wantedPending) {
        await jsm.consumers.update(stream, durable, { ack_wait: ackWait, max_ack_pending: wantedPending });
      }
      return;
    } catch (error) {
      if (apiCode(error) !== API.consumerNotFound) throw translate(error, `preparing consumer ${durable}`);
    }
    try {
      await jsm.consumers.add(stream, config);
    } catch (error) {
      if (apiCode(error) !== API.consumerExists) throw translate(error, `creating consumer ${durable}`);
    }
  };

  return {
    client,
    ensureChannel,
    ensureDeadLetters,
    ensureConsumer,
    forget(channel) {
      ensured.delete(`stream ${names.channelStream(channel)}`);
    },

    async readTries(channel, group, sequence, messageId) {
      const { jsm } = await client();
      let stored: Awaited<ReturnType<typeof jsm.streams.getMessage>>;
      try {
        stored = await jsm.streams.getMessage(names.triesStream, {
          last_by_subj: names.triesSubject(channel, group, sequence),
        });
      } catch (error) {
        if (apiCode(error) === API.streamNotFound || apiCode(error) === API.noMessage) return undefined;
        throw translate(error, 'reading failure facts');
      }
      if (stored === null) return undefined;
      try {
        const facts = stored.json<{ id?: unknown; tries?: unknown; firstFailedAt?: unknown }>();
        // Sequences start over when a stream is recreated: facts of another message are not these.
        if (facts.id !== messageId) return undefined;
        return {
          tries: typeof facts.tries === 'number' ? facts.tries : 0,
          firstFailedAt: typeof facts.firstFailedAt === 'number' ? facts.firstFailedAt : undefined,
        };
      } catch {
        return undefined;
      }
    },

    async writeTries(channel, group, sequence, messageId, facts) {
      await ensureTries();
      const { js } = await client();
      const subject = names.triesSubject(channel, group, sequence);
      await js.publish(subject, JSON.stringify({ id: messageId, ...facts })).catch((error: unknown) => {
        throw translate(error, 'recording failure facts');
      });
    },

    async clearTries(channel, group, sequence) {
      const { jsm } = await client();
      await jsm.streams
        .purge(names.triesStream, { filter: names.triesSubject(channel, group, sequence) })
        .catch((error: unknown) => {
          if (apiCode(error) !== API.streamNotFound) throw translate(error, 'clearing failure facts');
        });
    },
  };
}
