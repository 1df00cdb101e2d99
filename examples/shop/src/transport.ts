import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Catalog,
  type Clock,
  memoryEventStore,
  memoryTransport,
  type Projection,
  type ProjectionRunner,
  type ProjectionStore,
  type Transport,
} from '@tidings/core';
import { natsTransport } from '@tidings/nats';
import { shopOnAws } from './aws.ts';
import { postgresEventStore, postgresTransport } from '@tidings/postgres';
import { rabbitmqTransport } from '@tidings/rabbitmq';
import { redisTransport } from '@tidings/redis';
import { sqliteEventStore, sqliteTransport } from '@tidings/sqlite';
import pg from 'pg';
import { createClient } from 'redis';

/** What the shop gives its event store. */
export interface ShopStoreOptions {
  readonly catalog: Catalog;
  readonly clock: Clock;
  /** Inline projections, applied in every append's transaction. */
  readonly projections: readonly Projection[];
}

/** An event store that keeps projections: memory, SQLite or PostgreSQL. */
export type ShopStore = ProjectionStore & { readonly projections: ProjectionRunner | undefined };

/** Where the shop's events travel and where the orders service keeps its own. */
export interface ShopInfrastructure {
  readonly transport: Transport;
  readonly where: string;
  /** Opens the orders service's event store, beside the transport where the transport has a database. */
  readonly openStore: (options: ShopStoreOptions) => ShopStore;
  readonly storeWhere: string;
  readonly cleanUp: () => Promise<void>;
}

// Brokers without a database of their own keep the orders in memory, for the length of the run.
const inMemory = {
  openStore: (options: ShopStoreOptions): ShopStore => memoryEventStore(options),
  storeWhere: 'the memory event store',
};

/** The transport the shop runs on, chosen by TIDINGS_TRANSPORT (default: sqlite, embedded), and its store. */
export function shopTransport(kind = process.env.TIDINGS_TRANSPORT ?? 'sqlite'): ShopInfrastructure {
  switch (kind) {
    case 'sqlite': {
      const file = process.env.TIDINGS_DB ?? join(tmpdir(), `tidings-shop-${process.pid}.db`);
      const keep = process.env.TIDINGS_DB !== undefined;
      return {
        transport: sqliteTransport({ file }),
        where: file,
        openStore: (options) => sqliteEventStore({ file, ...options }),
        storeWhere: 'the SQLite event store, in the same file',
        cleanUp: () => {
          if (!keep) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
          return Promise.resolve();
        },
      };
    }
    case 'postgres': {
      const connectionString = process.env.TIDINGS_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
      // A schema of its own per run, dropped at the end, so that runs never see each other's events.
      const schema = `tidings_shop_${process.pid}`;
      return {
        transport: postgresTransport({ connectionString, schema }),
        where: `${connectionString.replace(/\/\/[^@]*@/, '//')} schema ${schema}`,
        openStore: (options) => postgresEventStore({ connectionString, schema, ...options }),
        storeWhere: 'the PostgreSQL event store, in the same schema',
        cleanUp: async () => {
          const client = new pg.Client({ connectionString });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        },
      };
    }
    case 'redis': {
      const url = process.env.TIDINGS_REDIS_URL ?? 'redis://127.0.0.1:6379';
      // Keys of its own per run, deleted at the end.
      const prefix = `tidings-shop-${process.pid}`;
      return {
        transport: redisTransport({ url, prefix }),
        where: `${url} keys ${prefix}:*`,
        ...inMemory,
        cleanUp: async () => {
          const client = createClient({ url });
          await client.connect();
          const keys: string[] = [];
          for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 }))
            keys.push(...batch);
          if (keys.length > 0) await client.del(keys);
          await client.quit();
        },
      };
    }
    case 'nats': {
      const servers = process.env.TIDINGS_NATS_URL ?? 'nats://127.0.0.1:4222';
      // One prefix for every run: its streams and consumers stay on the server, and each run starts
      // by discarding the dead letters an earlier run left (see main.ts).
      const prefix = 'tidings-shop';
      return {
        transport: natsTransport({ servers, prefix }),
        where: `${servers} streams ${prefix}_*`,
        ...inMemory,
        cleanUp: () => Promise.resolve(),
      };
    }
    case 'rabbitmq': {
      const url = process.env.TIDINGS_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
      const prefix = 'tidings-shop';
      return {
        transport: rabbitmqTransport({ url, prefix }),
        where: `${url.replace(/\/\/[^@]*@/, '//')} exchanges and queues ${prefix}.*`,
        ...inMemory,
        cleanUp: () => Promise.resolve(),
      };
    }
    case 'aws': {
      // Topics and queues of its own per run, deleted at the end.
      const aws = shopOnAws(`tidings-shop-${process.pid}`);
      return { ...aws, ...inMemory };
    }
    case 'memory':
      return {
        transport: memoryTransport(),
        where: 'this process',
        ...inMemory,
        cleanUp: () => Promise.resolve(),
      };
    default:
      throw new Error(
        `TIDINGS_TRANSPORT=${kind} is not known; use sqlite, postgres, redis, nats, rabbitmq, aws or memory`,
      );
  }
}
