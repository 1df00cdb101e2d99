import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DoctorFinding } from '@tidings/core';
import { formatFinding, runDoctor } from '@tidings/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fileSystemOf } from './doctor.ts';
import { sqliteTransport } from './transport.ts';
import type { SqliteTransport } from './transport.ts';
import { message } from './test-support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'tidings-sqlite-doctor-'));
let files = 0;
const newFile = (): string => join(dir, `doctor-${(files += 1)}.db`);
const transports: SqliteTransport[] = [];
const databases: Database.Database[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  for (const db of databases.splice(0)) db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open = (options: Parameters<typeof sqliteTransport>[0]): SqliteTransport => {
  const transport = sqliteTransport(options);
  transports.push(transport);
  return transport;
};
const find = (findings: readonly DoctorFinding[], check: string): DoctorFinding | undefined =>
  findings.find((finding) => finding.check === check);

// /dev/shm is tmpfs on most Linux systems; where it is not, the tmpfs case says so and is skipped.
const shm = existsSync('/proc/mounts') && fileSystemOf('/dev/shm/x.db') === 'tmpfs';
if (!shm) console.warn('\n!!! [sqlite doctor.test] /dev/shm is not tmpfs here: the tmpfs case is SKIPPED\n');

describe('sqliteTransport.doctor()', () => {
  it('finds the defaults of a file it opens sound: WAL, NORMAL with its note, a busy timeout', async () => {
    const transport = open({ file: newFile() });
    const findings = await runDoctor(transport);
    expect(find(findings, 'sqlite.journal_mode')?.level).toBe('ok');
    expect(find(findings, 'sqlite.synchronous')).toMatchObject({
      level: 'ok',
      message: expect.stringContaining('a crash of the process loses nothing'),
    });
    expect(find(findings, 'sqlite.busy_timeout')).toMatchObject({
      level: 'ok',
      message: expect.stringContaining('5000 ms'),
    });
    expect(find(findings, 'sqlite.dead_letters')?.message).toBe('no dead letters');
    expect(findings.every((finding) => finding.level === 'ok')).toBe(true);
  });

  it("accepts synchronous 'FULL'", async () => {
    const transport = open({ file: newFile(), synchronous: 'FULL' });
    expect(find(await transport.doctor(), 'sqlite.synchronous')).toMatchObject({
      level: 'ok',
      message: expect.stringContaining('synchronous is FULL'),
    });
  });

  it("fails an application's database with synchronous OFF, and warns about its journal and busy timeout", async () => {
    const db = new Database(newFile(), { timeout: 0 });
    databases.push(db);
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = OFF');
    const transport = open({ database: db });
    const findings = await transport.doctor();
    expect(find(findings, 'sqlite.synchronous')).toMatchObject({
      level: 'fail',
      fix: expect.stringContaining('FULL'),
    });
    expect(find(findings, 'sqlite.journal_mode')).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('journal_mode is DELETE, not WAL'),
    });
    expect(find(findings, 'sqlite.busy_timeout')?.level).toBe('warn');
    // The doctor only reads.
    expect(db.pragma('synchronous', { simple: true })).toBe(0);
    expect(formatFinding(find(findings, 'sqlite.synchronous') as DoctorFinding)).toMatch(
      /^FAIL sqlite\.synchronous: .+ → /,
    );
  });

  it('warns that NORMAL without WAL can corrupt the file on power loss', async () => {
    const db = new Database(newFile());
    databases.push(db);
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = NORMAL');
    const findings = await open({ database: db }).doctor();
    expect(find(findings, 'sqlite.synchronous')).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('without WAL'),
    });
  });

  it('warns that an in-memory database keeps nothing', async () => {
    const findings = await open({ file: ':memory:' }).doctor();
    expect(find(findings, 'sqlite.journal_mode')).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('in memory'),
    });
    expect(find(findings, 'sqlite.file_system')).toBeUndefined();
  });

  it('lists the dead letters waiting, per group', async () => {
    const transport = open({ file: newFile() });
    let moved: () => void = () => undefined;
    const deadLettered = new Promise<void>((resolve) => {
      moved = resolve;
    });
    await transport.consume(
      {
        channel: 'orders',
        group: 'billing',
        topics: ['OrderPlaced'],
        concurrency: 1,
        ordered: false,
        leaseMs: 30_000,
      },
      async (delivery) => {
        await delivery.deadLetter({
          handler: 'charge',
          error: { name: 'Error', message: 'card declined' },
          attempts: 1,
          firstFailedAt: 0,
          lastFailedAt: 0,
          fingerprint: 'f',
          reason: 'non-retryable',
        });
        moved();
      },
    );
    await transport.publish('orders', [message('m-1')]);
    await deadLettered;
    expect(find(await transport.doctor(), 'sqlite.dead_letters')).toMatchObject({
      level: 'ok',
      message: expect.stringMatching(/^dead letters waiting for an operator: billing 1 \(oldest /),
    });
  });

  it.skipIf(!shm)('warns about a file on tmpfs, which a reboot empties', async () => {
    const file = join('/dev/shm', `tidings-doctor-${process.pid}-${Date.now()}.db`);
    try {
      const findings = await open({ file }).doctor();
      expect(find(findings, 'sqlite.file_system')).toMatchObject({
        level: 'warn',
        message: expect.stringContaining('tmpfs'),
      });
    } finally {
      await Promise.all(transports.splice(0).map((t) => t.close()));
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    }
  });

  it('finds the file system of a path from the mount table, the longest mount point first', () => {
    const mounted = realpathSync(dir);
    const mounts = `/dev/vda / ext4 rw 0 0\ntmpfs ${mounted} tmpfs rw 0 0\nproc /proc proc rw 0 0\n`;
    expect(fileSystemOf(join(dir, 'app.db'), mounts)).toBe('tmpfs');
    expect(fileSystemOf(join(tmpdir(), 'app.db'), mounts)).toBe('ext4');
    expect(fileSystemOf(join(dir, 'app.db'), '')).toBeUndefined();
  });
});
