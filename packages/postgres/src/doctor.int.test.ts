import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it, test } from 'vitest';
import type { DoctorFinding } from '@tidings/core';
import { formatFinding } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { postgresDoctor } from './doctor.ts';
import { postgresTransport } from './transport.ts';
import { skipPrivateCluster, startPrivateCluster } from './test-support/cluster.ts';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';

const schema = `doctor_${randomBytes(4).toString('hex')}`;
const up = await serverUp();

const levelOf = (findings: readonly DoctorFinding[], check: string): string | undefined =>
  findings.find((finding) => finding.check === check)?.level;

if (up) {
  const pool = new pg.Pool({ connectionString: CONNECTION_STRING });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  describe('postgresTransport.doctor() on the shared server', () => {
    it('reports the durability settings as they hold, the schema and its dead letters', async () => {
      const transport = postgresTransport({ connectionString: CONNECTION_STRING, schema });
      try {
        await transport.publish('doctor', [
          { id: 'd-1', topic: 'Checked', headers: {}, body: new TextEncoder().encode('{}') },
        ]);
        const findings = await transport.doctor();
        expect(levelOf(findings, 'postgres.fsync')).toBe('ok');
        expect(levelOf(findings, 'postgres.synchronous_commit')).toBe('ok');
        expect(levelOf(findings, 'postgres.full_page_writes')).toBe('ok');
        expect(findings.find((f) => f.check === 'postgres.schema')).toMatchObject({
          level: 'ok',
          message: expect.stringContaining(`schema "${schema}" is at version`),
        });
        expect(findings.find((f) => f.check === 'postgres.dead_letters')?.message).toBe('no dead letters');
        // Every finding prints as one line, the fix after an arrow.
        for (const finding of findings) expect(formatFinding(finding)).not.toContain('\n');
      } finally {
        await transport.close();
      }
    });

    it('says when the tables do not exist yet, without creating them', async () => {
      const missing = `doctor_missing_${randomBytes(4).toString('hex')}`;
      const findings = await postgresDoctor(pool, missing);
      expect(findings.find((f) => f.check === 'postgres.schema')).toMatchObject({
        level: 'ok',
        message: expect.stringContaining('no Tidings tables yet'),
      });
      const { rows } = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [missing]);
      expect(rows).toHaveLength(0);
    });

    it('warns about a transaction left open, with its pid, age and query', async () => {
      const holder = await pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT 42 AS forgotten');
        const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const pid = rows[0]?.pid;
        let findings: readonly DoctorFinding[] = [];
        const mine = (): DoctorFinding | undefined =>
          findings.find(
            (f) => f.check === 'postgres.long_transactions' && f.message.startsWith(`pid ${pid} `),
          );
        await eventually(
          async () => {
            findings = await postgresDoctor(pool, schema, { longTransactionMs: 200 });
            return mine() !== undefined;
          },
          { what: () => `a warning about pid ${pid} (got ${findings.map(formatFinding).join('; ')})` },
        );
        expect(mine()).toMatchObject({
          level: 'warn',
          message: expect.stringMatching(
            /open for \d+\.\d s, now idle in transaction: SELECT pg_backend_pid\(\)/,
          ),
          fix: expect.stringContaining(`pg_terminate_backend(${pid})`),
        });
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
    });

    it("reads the transport's own sessions: synchronous_commit off on its connections fails", async () => {
      const lax = new pg.Pool({ connectionString: CONNECTION_STRING, options: '-c synchronous_commit=off' });
      lax.on('error', () => undefined);
      try {
        const findings = await postgresDoctor(lax, schema);
        expect(findings.find((f) => f.check === 'postgres.synchronous_commit')).toMatchObject({
          level: 'fail',
          fix: expect.stringContaining('synchronous_commit = on'),
        });
      } finally {
        await lax.end();
      }
    });
  });
} else {
  test.skip('postgres doctor on the shared server (server missing, see the warning above)', () => {});
}

// Settings no shared server may have: a private cluster started with them.
const made = await startPrivateCluster({
  fsync: 'off',
  full_page_writes: 'off',
  autovacuum: 'off',
  idle_in_transaction_session_timeout: '0',
});
if (!made.ok) skipPrivateCluster('doctor.int.test.ts', made.reason);

if (made.ok) {
  const { cluster } = made;
  afterAll(() => cluster.remove());

  test('fails a server with fsync off and warns about full_page_writes, autovacuum and the idle timeout', async () => {
    const transport = postgresTransport({ connectionString: cluster.connectionString, schema: 'doctor' });
    try {
      const findings = await transport.doctor();
      expect(levelOf(findings, 'postgres.fsync')).toBe('fail');
      expect(levelOf(findings, 'postgres.full_page_writes')).toBe('warn');
      expect(levelOf(findings, 'postgres.autovacuum')).toBe('warn');
      expect(levelOf(findings, 'postgres.idle_in_transaction_session_timeout')).toBe('warn');
      expect(levelOf(findings, 'postgres.synchronous_commit')).toBe('ok');
    } finally {
      await transport.close();
    }
  });
} else {
  test.skip('postgres doctor on a badly configured server (no private cluster here, see the warning above)', () => {});
}
