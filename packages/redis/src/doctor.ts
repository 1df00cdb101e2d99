import { isTidingsError } from '@tidings/core';
import type { DoctorFinding } from '@tidings/core';
import { type Connection, command } from './client.ts';

/** What the doctor read from the server; `config` is undefined when CONFIG is not allowed. */
interface Facts {
  readonly info: ReadonlyMap<string, string>;
  readonly config: ReadonlyMap<string, string> | undefined;
  readonly configError: string | undefined;
}

const CONFIG_NAMES = [
  'maxmemory-policy',
  'maxmemory',
  'appendonly',
  'appendfsync',
  'save',
  'client-output-buffer-limit',
];

function parseInfo(text: string): Map<string, string> {
  const info = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) info.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return info;
}

async function readFacts(connection: Connection): Promise<Facts> {
  const info = parseInfo(await command<string>(connection.client, ['INFO']));
  const config = new Map<string, string>();
  try {
    // One name per call: Redis 6.2 takes only one.
    for (const name of CONFIG_NAMES) {
      const reply = await command<string[]>(connection.client, ['CONFIG', 'GET', name]);
      if (reply.length >= 2) config.set(name, reply[1] ?? '');
    }
  } catch (error) {
    if (isTidingsError(error)) throw error;
    // Managed services rename or forbid CONFIG (unknown command, NOPERM): INFO covers part of it.
    return { info, config: undefined, configError: error instanceof Error ? error.message : String(error) };
  }
  return { info, config, configError: undefined };
}

const MIB = 1024 * 1024;
const size = (bytes: number): string =>
  bytes >= MIB ? `${(bytes / MIB).toFixed(bytes % MIB === 0 ? 0 : 1)} MiB` : `${bytes} bytes`;

/** A setting from CONFIG GET, or from INFO when CONFIG is not allowed. */
function setting(facts: Facts, name: string, infoName?: string): string | undefined {
  return facts.config?.get(name) ?? (infoName === undefined ? undefined : facts.info.get(infoName));
}

/** The URL to show, without the password (or user) it may carry. */
function withoutCredentials(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return undefined;
  }
}

function reach(connection: Connection, facts: Facts): DoctorFinding {
  const version = facts.info.get('redis_version') ?? 'unknown';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 6 || (major === 6 && minor < 2)) {
    return {
      check: 'redis.version',
      level: 'fail',
      message: `Redis ${version}: the transport needs 6.2 or later (XAUTOCLAIM, XGROUP CREATE … MKSTREAM)`,
      fix: 'upgrade Redis to 6.2 or later (7.x is tested)',
    };
  }
  const mode = facts.info.get('redis_mode') ?? 'standalone';
  const url = withoutCredentials(connection.client.options?.url);
  return {
    check: 'redis.version',
    level: 'ok',
    message: `Redis ${version} (${mode})${url === undefined ? '' : ` at ${url}`}`,
  };
}

function configAccess(facts: Facts): DoctorFinding | undefined {
  if (facts.config !== undefined) return undefined;
  return {
    check: 'redis.config',
    level: 'warn',
    message:
      `CONFIG GET is not allowed on this server (${facts.configError ?? 'refused'}), as on most managed ` +
      'Redis services: eviction, AOF and the memory limit were read from INFO; appendfsync and save could not be read',
    fix: "check appendfsync and snapshots in your provider's settings, or run the doctor as a user allowed CONFIG GET",
  };
}

function eviction(facts: Facts, level: 'fail' | 'warn', loses: string): DoctorFinding {
  const policy = setting(facts, 'maxmemory-policy', 'maxmemory_policy');
  if (policy === undefined) {
    return {
      check: 'redis.eviction',
      level: 'warn',
      message: 'the eviction policy could not be read',
      fix: 'make sure maxmemory-policy is noeviction',
    };
  }
  if (policy === 'noeviction') {
    return {
      check: 'redis.eviction',
      level: 'ok',
      message: 'maxmemory-policy noeviction: when memory runs out, writes fail instead of keys vanishing',
    };
  }
  return {
    check: 'redis.eviction',
    level,
    message: `maxmemory-policy ${policy}: under memory pressure Redis deletes keys, and ${loses}`,
    fix: 'CONFIG SET maxmemory-policy noeviction (and CONFIG REWRITE), or --maxmemory-policy noeviction',
  };
}

function persistence(facts: Facts, durable: boolean): DoctorFinding {
  const aof = setting(facts, 'appendonly', 'aof_enabled');
  const fsync = facts.config?.get('appendfsync');
  const on = aof === 'yes' || aof === '1';
  const fix =
    'CONFIG SET appendonly yes, CONFIG SET appendfsync always (or everysec), then CONFIG REWRITE; ' +
    'or start redis-server with --appendonly yes --appendfsync always';
  if (aof === undefined) {
    return { check: 'redis.persistence', level: 'warn', message: 'AOF settings could not be read', fix };
  }
  if (!on) {
    return {
      check: 'redis.persistence',
      level: durable ? 'fail' : 'warn',
      message: durable
        ? 'appendonly no: a restart of Redis loses the confirmed publishes, pending lists and dead letters that no RDB snapshot holds'
        : 'appendonly no: dead letters do not survive a restart of Redis (messages are never kept anyway)',
      fix,
    };
  }
  if (fsync === undefined) {
    return {
      check: 'redis.persistence',
      level: 'warn',
      message: 'appendonly yes; appendfsync could not be read',
      fix: 'make sure appendfsync is always (no loss) or everysec (up to a second lost when the machine crashes)',
    };
  }
  if (fsync === 'always' || !durable) {
    return { check: 'redis.persistence', level: 'ok', message: `appendonly yes, appendfsync ${fsync}` };
  }
  return {
    check: 'redis.persistence',
    level: 'warn',
    message:
      `appendonly yes, appendfsync ${fsync}: a crash of the machine (not only of Redis) can lose ` +
      (fsync === 'everysec'
        ? 'up to a second of confirmed publishes'
        : 'the confirmed publishes the OS had not flushed yet (often 30 s)'),
    fix: 'CONFIG SET appendfsync always (and CONFIG REWRITE) when that loss matters more than write throughput',
  };
}

function snapshots(facts: Facts): DoctorFinding {
  const save = facts.config?.get('save');
  const aof = setting(facts, 'appendonly', 'aof_enabled');
  const aofOn = aof === 'yes' || aof === '1';
  if (save === undefined) {
    return {
      check: 'redis.snapshots',
      level: aofOn ? 'ok' : 'warn',
      message: 'the save setting could not be read',
      fix: aofOn ? undefined : 'turn AOF on (see redis.persistence)',
    };
  }
  const described = save === '' ? 'RDB snapshots off' : `RDB snapshots at save "${save}"`;
  if (aofOn)
    return { check: 'redis.snapshots', level: 'ok', message: `${described}; AOF persists every write` };
  return {
    check: 'redis.snapshots',
    level: 'warn',
    message:
      save === ''
        ? `${described} and AOF off: nothing is written to disk, a restart starts empty`
        : `${described} and AOF off: a restart loses everything written since the last snapshot`,
    fix: 'turn AOF on (see redis.persistence); snapshots alone are backups, not durability',
  };
}

function memory(facts: Facts): DoctorFinding {
  const limit = Number(setting(facts, 'maxmemory', 'maxmemory') ?? Number.NaN);
  const used = Number(facts.info.get('used_memory') ?? Number.NaN);
  if (Number.isNaN(limit)) {
    return { check: 'redis.memory', level: 'warn', message: 'maxmemory could not be read' };
  }
  if (limit === 0) {
    return {
      check: 'redis.memory',
      level: 'warn',
      message:
        `maxmemory 0 (no limit${Number.isNaN(used) ? '' : `, ${size(used)} used`}): Redis grows until the ` +
        'machine runs out and the OS kills it, losing what was not on disk yet',
      fix: 'set maxmemory below what the machine can spare; with noeviction, publishes then fail with TIDINGS_UNAVAILABLE (OOM) instead',
    };
  }
  const percent = Number.isNaN(used) ? undefined : Math.round((used / limit) * 100);
  const described = `maxmemory ${size(limit)}${percent === undefined ? '' : `, ${percent}% used`}`;
  if (percent !== undefined && percent >= 80) {
    return {
      check: 'redis.memory',
      level: 'warn',
      message: `${described}: at 100% every write, and so every publish, fails`,
      fix: 'trim streams that every group has read (maxLength or XTRIM), discard old dead letters, or raise maxmemory',
    };
  }
  return { check: 'redis.memory', level: 'ok', message: described };
}

function replication(facts: Facts, durable: boolean): DoctorFinding {
  const role = facts.info.get('role') ?? 'unknown';
  const replicas = Number(facts.info.get('connected_slaves') ?? '0');
  if (role === 'slave' || role === 'replica') {
    return {
      check: 'redis.replication',
      level: 'fail',
      message: durable
        ? 'connected to a replica: every write fails with READONLY, so nothing can be published'
        : 'connected to a replica: publishes reach only the subscribers of this replica',
      fix: 'point the transport at the primary',
    };
  }
  if (replicas > 0 && durable) {
    return {
      check: 'redis.replication',
      level: 'warn',
      message:
        `primary with ${replicas} replica(s): replication is asynchronous, so after a failover the ` +
        'confirmed publishes a replica had not copied yet are gone',
      fix: 'accept that window, or fail over only by hand after the replicas caught up (the transport does not use WAIT)',
    };
  }
  return {
    check: 'redis.replication',
    level: 'ok',
    message: replicas > 0 ? `primary with ${replicas} replica(s)` : 'primary without replicas',
  };
}

/** Parses the pubsub class of `client-output-buffer-limit` ("… pubsub <hard> <soft> <seconds> …"). */
function pubSubLimits(value: string): { hard: number; soft: number; seconds: number } | undefined {
  const words = value.split(/\s+/);
  const at = words.indexOf('pubsub');
  if (at < 0) return undefined;
  const [hard, soft, seconds] = words.slice(at + 1, at + 4).map(Number);
  if (hard === undefined || soft === undefined || seconds === undefined) return undefined;
  return { hard, soft, seconds };
}

function pubSubBuffer(facts: Facts): DoctorFinding | undefined {
  const value = facts.config?.get('client-output-buffer-limit');
  const limits = value === undefined ? undefined : pubSubLimits(value);
  if (limits === undefined) return undefined;
  if (limits.hard === 0 && limits.soft === 0) {
    return {
      check: 'redis.pubsub-buffer',
      level: 'warn',
      message:
        'client-output-buffer-limit pubsub 0 0: a subscriber that stops reading makes Redis buffer for it without limit',
      fix: 'CONFIG SET client-output-buffer-limit "pubsub 32mb 8mb 60" (the Redis default)',
    };
  }
  return {
    check: 'redis.pubsub-buffer',
    level: 'ok',
    message:
      `a subscriber more than ${size(limits.hard)} behind` +
      (limits.soft > 0 ? `, or ${size(limits.soft)} for ${limits.seconds} s,` : '') +
      ' is disconnected and loses what was buffered for it',
  };
}

/** Runs the checks, or says in one finding that Redis could not be reached. */
async function diagnose(
  connection: Connection,
  timeoutMs: number,
  checks: (facts: Facts) => (DoctorFinding | undefined)[],
): Promise<readonly DoctorFinding[]> {
  try {
    await connection.whenReady('run the doctor', timeoutMs);
    const facts = await readFacts(connection);
    return [reach(connection, facts), ...checks(facts)].filter((f): f is DoctorFinding => f !== undefined);
  } catch (error) {
    if (!isTidingsError(error, 'TIDINGS_UNAVAILABLE')) throw error;
    return [
      {
        check: 'redis.connection',
        level: 'fail',
        message: error.message,
        fix: 'start Redis, or check the url (host, port, TLS, credentials) and that this machine can reach it',
      },
    ];
  }
}

/** The checks of the Redis Streams transport, which promises durable publishes. @internal */
export function streamsDoctor(connection: Connection, timeoutMs: number): Promise<readonly DoctorFinding[]> {
  return diagnose(connection, timeoutMs, (facts) => [
    configAccess(facts),
    eviction(facts, 'fail', 'an evicted stream, pending list or dead letter takes confirmed events with it'),
    persistence(facts, true),
    snapshots(facts),
    memory(facts),
    replication(facts, true),
  ]);
}

/** The checks of the Pub/Sub transport, which keeps nothing but its dead letters. @internal */
export function pubSubDoctor(connection: Connection, timeoutMs: number): Promise<readonly DoctorFinding[]> {
  return diagnose(connection, timeoutMs, (facts) => [
    configAccess(facts),
    pubSubBuffer(facts),
    eviction(facts, 'warn', 'dead letters can vanish'),
    persistence(facts, false),
    replication(facts, false),
  ]);
}
