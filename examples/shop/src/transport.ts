import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryTransport, type Transport } from '@tidings/core';
import { natsTransport } from '@tidings/nats';
import { postgresTransport } from '@tidings/postgres';
import { rabbitmqTransport } from '@tidings/rabbitmq';
import { redisTransport } from '@tidings/redis';
import { sqliteTransport } from '@tidings/sqlite';
import pg from 'pg';
import { createClient } from 'redis';

/** The transport the shop runs on, chosen by TIDINGS_TRANSPORT (default: sqlite, embedded). */
export function shopTransport(kind = process.env.TIDINGS_TRANSPORT ?? 'sqlite'): {
  transport: Transport;
  where: string;
  cleanUp: () => Promise<void>;
} {
  switch (kind) {
    case 'sqlite': {
      const file = process.env.TIDINGS_DB ?? join(tmpdir(), `tidings-shop-${process.pid}.db`);
      const keep = process.env.TIDINGS_DB !== undefined;
      return {
        transport: sqliteTransport({ file }),
        where: file,
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
        cleanUp: () => Promise.resolve(),
      };
    }
    case 'rabbitmq': {
      const url = process.env.TIDINGS_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
      const prefix = 'tidings-shop';
      return {
        transport: rabbitmqTransport({ url, prefix }),
        where: `${url.replace(/\/\/[^@]*@/, '//')} exchanges and queues ${prefix}.*`,
        cleanUp: () => Promise.resolve(),
      };
    }
    case 'memory':
      return { transport: memoryTransport(), where: 'this process', cleanUp: () => Promise.resolve() };
    default:
      throw new Error(
        `TIDINGS_TRANSPORT=${kind} is not known; use sqlite, postgres, redis, nats, rabbitmq or memory`,
      );
  }
}
