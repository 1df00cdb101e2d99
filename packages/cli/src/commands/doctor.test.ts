import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorFinding } from '@tidings/core';
import { sqliteTransport } from '@tidings/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../fixtures/run.ts';

let dir = '';
let db = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tidings-doctor-'));
  db = join(dir, 'shop.db');
  await sqliteTransport({ file: db }).close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tidings doctor', () => {
  it('prints one line per finding and a summary, and exits 1 only when a check failed', async () => {
    const json = await run(['doctor', '--db', db, '--json']);
    const findings = JSON.parse(json.stdout) as DoctorFinding[];
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      expect(['ok', 'warn', 'fail']).toContain(finding.level);
      expect(finding.check).toMatch(/^sqlite\./);
    }
    const failed = findings.filter((finding) => finding.level === 'fail').length;
    expect(json.code).toBe(failed > 0 ? 1 : 0);

    const text = await run(['doctor', '--db', db]);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(findings.length + 1);
    expect(lines.at(-1)).toMatch(/^\d+ failed, \d+ warnings, \d+ ok \(sqlite\)$/);
    expect(text.code).toBe(json.code);
  });

  it('exits 1 on warnings with --strict', async () => {
    const findings = JSON.parse((await run(['doctor', '--db', db, '--json'])).stdout) as DoctorFinding[];
    const { code } = await run(['doctor', '--db', db, '--strict']);
    expect(code).toBe(findings.some((finding) => finding.level !== 'ok') ? 1 : 0);
  });

  it('reads the broker from --transport, and refuses a URL no adapter takes', async () => {
    const viaUrl = await run(['doctor', '--transport', `sqlite:${db}`, '--json']);
    expect((JSON.parse(viaUrl.stdout) as DoctorFinding[]).length).toBeGreaterThan(0);

    const refused = await run(['doctor', '--transport', 'kafka://127.0.0.1:9092']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/kafka: is not a scheme Tidings knows; give one of postgres:\/\//);
  });

  it('says how to name a broker when none is given', async () => {
    const { code, stderr } = await run(['doctor'], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toMatch(/pass --db <file>/);
  });
});
