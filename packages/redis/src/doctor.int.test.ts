import { afterAll, describe, expect, test } from 'vitest';
import { type DoctorFinding, formatFinding, runDoctor } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { type PrivateRedis, redisServerAvailable, startPrivateRedis } from './test-support/private-server.ts';
import { REDIS_TEST_URL, redisAvailable } from './test-support/server.ts';
import { type RedisTransport, redisTransport } from './transport.ts';

const shared = await redisAvailable();
const canStart = await redisServerAvailable();
const servers: PrivateRedis[] = [];
const transports: RedisTransport[] = [];
afterAll(async () => {
  await Promise.all(transports.map((transport) => transport.close()));
  await Promise.all(servers.map((server) => server.close()));
});

function open(url: string): RedisTransport {
  const transport = redisTransport({ url, onError: () => undefined, commandTimeoutMs: 1_000 });
  transports.push(transport);
  return transport;
}

const levels = (findings: readonly DoctorFinding[]): Record<string, string> =>
  Object.fromEntries(findings.map((finding) => [finding.check, finding.level]));

function expectFixes(findings: readonly DoctorFinding[]): void {
  for (const finding of findings) {
    if (finding.level !== 'ok') expect(finding.fix, formatFinding(finding)).toMatch(/\S/);
  }
}

describe.skipIf(!shared)('redis doctor on the shared test server', () => {
  test('fails persistence exactly when the server runs without AOF, as the shared one does', async () => {
    const transport = open(REDIS_TEST_URL);
    const findings = await runDoctor(transport);
    const appendonly = await transport.client.configGet('appendonly');
    const policy = await transport.client.configGet('maxmemory-policy');
    console.info(`[redis doctor, shared server]\n${findings.map(formatFinding).join('\n')}`);
    const found = levels(findings);
    expect(Object.keys(found)).toEqual([
      'redis.version',
      'redis.eviction',
      'redis.persistence',
      'redis.snapshots',
      'redis.memory',
      'redis.replication',
    ]);
    expect(found['redis.persistence']).toBe(
      appendonly.appendonly === 'no' ? 'fail' : found['redis.persistence'],
    );
    expect(found['redis.eviction']).toBe(policy['maxmemory-policy'] === 'noeviction' ? 'ok' : 'fail');
    expectFixes(findings);
  });
});

describe.skipIf(!canStart)('redis doctor on private servers', () => {
  test('finds nothing wrong with AOF always, noeviction and a memory limit', async () => {
    const server = await startPrivateRedis([
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--maxmemory',
      '64mb',
      '--maxmemory-policy',
      'noeviction',
    ]);
    servers.push(server);
    const findings = await open(server.url).doctor();
    expect(findings.filter((f) => f.level !== 'ok').map(formatFinding)).toEqual([]);
    expect(levels(findings)['redis.persistence']).toBe('ok');
  });

  test('fails eviction and warns on everysec, and says which replica it is talking to', async () => {
    const primary = await startPrivateRedis([
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'allkeys-lru',
    ]);
    servers.push(primary);
    const replica = await startPrivateRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
    servers.push(replica);
    const findings = await open(primary.url).doctor();
    expect(levels(findings)).toMatchObject({
      'redis.eviction': 'fail',
      'redis.persistence': 'warn',
      'redis.memory': 'warn',
    });
    expectFixes(findings);
    await eventually(async () => levels(await open(primary.url).doctor())['redis.replication'] === 'warn', {
      what: 'the primary to count its replica',
    });
    expect(levels(await open(replica.url).doctor())['redis.replication']).toBe('fail');
  });

  test('warns that CONFIG is disabled, and still reads eviction and AOF from INFO', async () => {
    const server = await startPrivateRedis(['--appendonly', 'yes', '--rename-command', 'CONFIG', '']);
    servers.push(server);
    const findings = await open(server.url).doctor();
    expect(levels(findings)).toMatchObject({
      'redis.config': 'warn',
      'redis.eviction': 'ok',
      'redis.persistence': 'warn',
    });
    expect(findings.find((f) => f.check === 'redis.persistence')?.message).toMatch(
      /appendfsync could not be read/,
    );
    expectFixes(findings);
  });

  test('says in one finding that Redis cannot be reached', async () => {
    const server = await startPrivateRedis([]);
    servers.push(server);
    await server.kill();
    const findings = await open(server.url).doctor();
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ check: 'redis.connection', level: 'fail' });
    expectFixes(findings);
  });
});
