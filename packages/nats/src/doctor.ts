import type { StreamInfo } from '@nats-io/jetstream';
import type { DoctorFinding } from '@tidings/core';
import type { Connection } from './client.ts';
import type { Names } from './mapping.ts';
import type { ResolvedTransportOptions } from './options.ts';
import type { Streams } from './streams.ts';

/** What the doctor checks read. @internal */
export interface DoctorContext {
  readonly connection: Connection;
  readonly streams: Streams;
  readonly names: Names;
  readonly options: ResolvedTransportOptions;
}

const NANOS_PER_MS = 1_000_000;

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return a > major || (a === major && b >= minor);
}

/**
 * The checks: JetStream is on; the server writes to disk on every write (which a client cannot read,
 * so it is a warning that says what to set); and, per stream of this prefix, file storage, replicas,
 * a duplicate window covering the retry horizon, and consumers that never drop a message on their own.
 *
 * @internal
 */
export async function runDoctorChecks(context: DoctorContext): Promise<readonly DoctorFinding[]> {
  const { names, options } = context;
  const findings: DoctorFinding[] = [];
  let nc: Awaited<ReturnType<Connection['ready']>>;
  try {
    nc = await context.connection.ready();
  } catch (error) {
    return [
      {
        check: 'nats.connection',
        level: 'fail',
        message: `cannot reach ${options.servers.join(', ') || 'the server'}: ${(error as Error).message}`,
        fix: 'start nats-server with JetStream (-js), or fix the servers option',
      },
    ];
  }
  const version = nc.info?.version ?? 'unknown';
  let jsm: Awaited<ReturnType<Streams['client']>>['jsm'];
  try {
    jsm = (await context.streams.client()).jsm;
    await jsm.getAccountInfo();
    findings.push({
      check: 'nats.jetstream',
      level: 'ok',
      message: `JetStream is enabled (server ${version})`,
    });
  } catch (error) {
    findings.push({
      check: 'nats.jetstream',
      level: 'fail',
      message: `JetStream does not answer on server ${version}: ${(error as Error).message}`,
      fix: 'run nats-server with -js (or a jetstream {} block) and give it a store_dir on durable disk',
    });
    return findings;
  }

  findings.push(
    versionAtLeast(version, 2, 10)
      ? {
          check: 'nats.sync',
          level: 'warn',
          message:
            `server ${version}: a client cannot read how often JetStream calls fsync; by default it is every ` +
            '2 minutes, so a power loss or OS crash can lose publishes that were acknowledged',
          fix: 'set jetstream { sync_interval: always } in the server configuration (or rely on replicas 3 across failure domains)',
        }
      : {
          check: 'nats.sync',
          level: 'warn',
          message:
            `server ${version} calls fsync every 2 minutes and cannot be told otherwise (sync_interval arrived ` +
            'in 2.10): a power loss or OS crash can lose publishes that were acknowledged',
          fix: 'upgrade to nats-server 2.10 or later and set jetstream { sync_interval: always }, or use replicas 3',
        },
  );

  const streams: StreamInfo[] = [];
  for await (const info of jsm.streams.list()) {
    if (info.config.name.startsWith(names.streamPrefix)) streams.push(info);
  }
  if (streams.length === 0) {
    findings.push({
      check: 'nats.streams',
      level: 'ok',
      message: `no stream of prefix ${names.prefix} yet; they are created on first use`,
    });
  }
  for (const info of streams) {
    const { config } = info;
    const name = config.name;
    findings.push(
      config.storage === 'memory'
        ? {
            check: 'nats.storage',
            level: 'fail',
            message: `stream ${name} keeps its messages in memory: a server restart loses them`,
            fix: `recreate ${name} with file storage (delete it; the transport creates it again with file storage)`,
          }
        : { check: 'nats.storage', level: 'ok', message: `stream ${name} uses file storage` },
    );
    findings.push(
      (config.num_replicas ?? 1) < 3
        ? {
            check: 'nats.replicas',
            level: 'warn',
            message: `stream ${name} has ${config.num_replicas ?? 1} replica(s): losing that server's disk loses its messages`,
            fix: 'in production run a 3-node cluster and set replicas: 3 (nats stream edit, or the replicas option for new streams)',
          }
        : {
            check: 'nats.replicas',
            level: 'ok',
            message: `stream ${name} has ${config.num_replicas} replicas`,
          },
    );
    if (name === names.triesStream) continue;
    const windowMs = Math.round((config.duplicate_window ?? 0) / NANOS_PER_MS);
    findings.push(
      windowMs < options.retryHorizonMs
        ? {
            check: 'nats.duplicate-window',
            level: 'warn',
            message:
              `stream ${name} forgets message ids after ${windowMs} ms, before the retry horizon of ` +
              `${options.retryHorizonMs} ms: a publish retried later is stored twice`,
            fix: `raise its duplicate_window to at least ${options.retryHorizonMs} ms, or lower retryHorizonMs`,
          }
        : {
            check: 'nats.duplicate-window',
            level: 'ok',
            message: `stream ${name} deduplicates ids for ${windowMs} ms`,
          },
    );
    if (!name.startsWith(`${names.prefix}_ch_`)) continue;
    for await (const consumer of jsm.consumers.list(name)) {
      const maxDeliver = consumer.config.max_deliver ?? -1;
      if (maxDeliver > 0) {
        findings.push({
          check: 'nats.max-deliver',
          level: 'warn',
          message:
            `consumer ${consumer.name} on ${name} stops delivering a message after ${maxDeliver} deliveries, ` +
            'without dead-lettering it',
          fix: `set its max_deliver to -1 (nats consumer edit ${name} ${consumer.name}); the bus dead-letters by itself`,
        });
      }
    }
  }
  return findings;
}
