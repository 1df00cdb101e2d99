import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import type { Transport } from '@tidings/core';
import { postgresTransport } from '@tidings/postgres';
import { redisTransport } from '@tidings/redis';
import amqp from 'amqplib';
import pg from 'pg';
import { createClient } from 'redis';
import { bullmqJobs } from './bullmq.ts';
import { rawNats } from './nats-raw.ts';
import { rawPostgres } from './postgres-raw.ts';
import { rawRabbitmq } from './rabbitmq-raw.ts';
import type { RawClient } from './raw.ts';
import { deleteKeys, rawRedis } from './redis-raw.ts';
import { BENCH_GROUP, type TransportFactory } from './tidings.ts';
import { ROUNDS, STREAMS, streamName } from './common.ts';

/** Where the brokers are: the loopback servers the integration tests use, or the same variables. */
export const URLS = {
  postgres: process.env.TIDINGS_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  redis: process.env.TIDINGS_REDIS_URL ?? 'redis://127.0.0.1:6379',
  nats: process.env.TIDINGS_NATS_URL ?? 'nats://127.0.0.1:4222',
  rabbitmq: process.env.TIDINGS_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
} as const;

/** The Tidings side of a broker: how to make its transport, and how to remove what it wrote. */
export interface TidingsSide {
  readonly create: TransportFactory;
  cleanUp(): Promise<void>;
}

/** One broker of the benchmark: its raw client, its Tidings transport and any extra peer. */
export interface Broker {
  readonly name: keyof typeof URLS;
  raw(namespace: string): Promise<RawClient>;
  /** The Tidings side, or the reason it cannot run yet. */
  tidings(namespace: string): Promise<TidingsSide | string>;
  /**
   * The latency case's rate and duration when not the default of `COUNTS`: single-row commits with fsync
   * cannot keep up with 500/s on a small shared machine, and a queue that only grows measures nothing.
   */
  readonly latency?: { readonly rate: number; readonly seconds: number };
  /** Redis only: BullMQ processing `count` jobs with `concurrency`, in ms. */
  readonly jobs?: (namespace: string, count: number, concurrency: number) => Promise<number>;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Loads a transport factory from an adapter package that may still be in the making: a missing
 * package, build or export is a reason to skip its Tidings side, not a failure of the whole run.
 */
async function loadFactory(pkg: string, name: string): Promise<((options: object) => Transport) | string> {
  try {
    const mod = (await import(pkg)) as Record<string, unknown>;
    const factory = mod[name];
    if (typeof factory !== 'function') return `${pkg} does not export ${name} yet`;
    return factory as (options: object) => Transport;
  } catch (error) {
    return `${pkg} could not be loaded (${message(error)})`;
  }
}

/** The namespace as a PostgreSQL identifier. */
const identifier = (namespace: string): string => namespace.replaceAll('-', '_');

const postgres: Broker = {
  name: 'postgres',
  latency: { rate: 100, seconds: 5 },
  raw: (namespace) => Promise.resolve(rawPostgres(URLS.postgres, `${identifier(namespace)}_raw`)),
  tidings: (namespace) => {
    const schema = `${identifier(namespace)}_tidings`;
    return Promise.resolve({
      create: () => postgresTransport({ connectionString: URLS.postgres, schema }),
      async cleanUp() {
        const client = new pg.Client({ connectionString: URLS.postgres });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      },
    });
  },
};

const redis: Broker = {
  name: 'redis',
  raw: (namespace) => rawRedis(URLS.redis, namespace),
  tidings: (namespace) => {
    const prefix = `${namespace}:tidings`;
    return Promise.resolve({
      create: () => redisTransport({ url: URLS.redis, prefix }),
      async cleanUp() {
        const client = createClient({ url: URLS.redis, RESP: 2 });
        await client.connect();
        await deleteKeys(client, `${prefix}:`);
        await client.close();
      },
    });
  },
  jobs: (namespace, count, concurrency) => bullmqJobs(URLS.redis, `${namespace}:bull`, count, concurrency),
};

const nats: Broker = {
  name: 'nats',
  raw: (namespace) => rawNats(URLS.nats, namespace),
  tidings: async (namespace) => {
    const factory = await loadFactory('@tidings/nats', 'natsTransport');
    if (typeof factory === 'string') return factory;
    const prefix = `${namespace}-t`;
    return {
      create: () => factory({ servers: URLS.nats, prefix }),
      async cleanUp() {
        // Every stream the transport made carries the prefix in its name or its subjects.
        const nc = await natsConnect({ servers: URLS.nats });
        const jsm = await jetstreamManager(nc);
        const doomed: string[] = [];
        for await (const info of jsm.streams.list()) {
          const { name, subjects = [] } = info.config;
          const ours = [name, ...subjects].some((text) => text.toLowerCase().includes(prefix.toLowerCase()));
          if (ours) doomed.push(name);
        }
        for (const name of doomed) await jsm.streams.delete(name);
        await nc.close();
      },
    };
  },
};

const rabbitmq: Broker = {
  name: 'rabbitmq',
  raw: (namespace) => rawRabbitmq(URLS.rabbitmq, namespace),
  tidings: async (namespace) => {
    const factory = await loadFactory('@tidings/rabbitmq', 'rabbitmqTransport');
    if (typeof factory === 'string') return factory;
    const prefix = `${namespace}.tidings`;
    return {
      create: () => factory({ url: URLS.rabbitmq, prefix }),
      cleanUp: () => deleteRabbitmqTopology(prefix),
    };
  },
};

/**
 * Deletes what the rabbitmq transport declared for the bench (its names: exchange `<prefix>.<channel>`,
 * queue `<prefix>.<channel>.<group>`, dead letters `<prefix>.~dead-letters`). Deleting a missing queue
 * or exchange is not an error in RabbitMQ; each delete gets its own channel all the same, since a
 * failed one closes its channel.
 */
async function deleteRabbitmqTopology(prefix: string): Promise<void> {
  const connection = await amqp.connect(URLS.rabbitmq);
  const attempt = async (work: (channel: amqp.Channel) => Promise<unknown>): Promise<void> => {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await work(channel).catch(() => undefined);
    await channel.close().catch(() => undefined);
  };
  try {
    for (const round of ROUNDS) {
      for (const what of STREAMS) {
        const channelName = streamName(what, round);
        await attempt((channel) => channel.deleteQueue(`${prefix}.${channelName}.${BENCH_GROUP}`));
        await attempt((channel) => channel.deleteExchange(`${prefix}.${channelName}`));
      }
    }
    await attempt((channel) => channel.deleteQueue(`${prefix}.~dead-letters`));
  } finally {
    await connection.close();
  }
}

/** Every broker, in the order a full run measures them. */
export const BROKERS: readonly Broker[] = [postgres, redis, nats, rabbitmq];
