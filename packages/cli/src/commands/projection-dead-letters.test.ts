import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSequencePosition as at } from '@tidings/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROJECTIONS_MODULE,
  type ProjectionsFixture,
  projectionsFixture,
  table,
} from '../fixtures/projections.ts';
import { run } from '../fixtures/run.ts';

let fx: ProjectionsFixture;
beforeAll(async () => {
  fx = await projectionsFixture();
});
afterAll(() => fx.cleanup());

describe('tidings projections dead-letters', () => {
  it('lists and shows the dead letters of the projections without their code', async () => {
    const db = await fx.seeded();
    const { code, stdout } = await run(['projections', 'dead-letters', 'list', '--db', db]);
    expect(code).toBe(0);
    const [header, ...rows] = table(stdout);
    expect(header).toEqual(['ID', 'STREAM', 'TYPE', 'REASON', 'AGE', 'ERROR']);
    expect(rows.map((row) => [row[0], row[1], row[2], row[3], row[5]])).toEqual([
      [`picky@1:${at(3)}`, 'order-2@1', 'OrderPlaced', 'non-retryable', 'Error: cannot project o-2'],
      [`picky@1:${at(4)}`, 'order-2@2', 'OrderPlaced', 'paused', expect.stringMatching(/^StreamPaused: /)],
    ]);
    const orders = await run(['projections', 'dead-letters', 'list', '--db', db, '--projection', 'orders']);
    expect(orders.stdout).toBe('No dead letters for projection orders.\n');

    const shown = await run(['projections', 'dead-letters', 'show', at(3), '--db', db]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`Dead letter picky@1:${at(3)}\n`));
    expect(shown.stdout).toMatch(/Group +picky\n/);
    expect(shown.stdout).toContain('Error: cannot project o-2');
    const json = await run(['projections', 'dead-letters', 'show', `picky@1:${at(4)}`, '--db', db, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      group: 'picky',
      reason: 'paused',
      channel: 'projections',
    });
  });

  it('replays with the projections’ code: a failure stays, a fix applies the event and those held behind it', async () => {
    const db = await fx.seeded();
    const noCode = await run(['projections', 'dead-letters', 'replay', '--all', '--db', db]);
    expect(noCode.code).toBe(2);
    expect(noCode.stderr).toContain('Replaying applies the events again, so it needs the projections');

    const args = ['projections', 'dead-letters', 'replay', '--projection', 'picky', '--db', db];
    const failed = await run([...args, '--projections', fx.modulePath]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('replayed 0\n');
    expect(failed.stderr).toContain('1 failed again and stay in the dead letters');
    expect(failed.stderr).toContain('failed again (Error: cannot project o-2)');

    const single = await run([
      'projections',
      'dead-letters',
      'replay',
      `picky@1:${at(4)}`,
      '--db',
      db,
      '--projections',
      fx.modulePath,
    ]);
    expect(single.code).toBe(1);
    expect(single.stderr).toContain(`waits behind picky@1:${at(3)}`);

    await writeFile(join(fx.moduleDir, 'fixed'), '');
    try {
      const fixed = await run([...args, '--projections', fx.modulePath]);
      expect({ code: fixed.code, stdout: fixed.stdout }).toEqual({ code: 0, stdout: 'replayed 2\n' });
    } finally {
      await rm(join(fx.moduleDir, 'fixed'));
    }
    const list = await run(['projections', 'dead-letters', 'list', '--db', db]);
    expect(list.stdout).toBe('No projection dead letters.\n');
  });

  it('refuses to replay dead letters of a version the module does not define', async () => {
    const db = await fx.seeded();
    const cwd = await fx.tempDir();
    await writeFile(
      join(cwd, 'v2.mjs'),
      PROJECTIONS_MODULE.replace("name: 'picky',", "name: 'picky', version: 2,"),
    );
    const { code, stderr } = await run(
      ['projections', 'dead-letters', 'replay', '--all', '--db', db, '--projections', 'v2.mjs'],
      { cwd },
    );
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot replay dead letters of picky v1: v2.mjs defines orders v1, picky v2.');
  });

  it('discards one by id, saying what still waits, and all of them only with --yes off a terminal', async () => {
    const db = await fx.seeded();
    const one = await run(['projections', 'dead-letters', 'discard', `picky@1:${at(3)}`, '--db', db]);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe(
      'discarded 1\nStream order-2 still has 1 dead letter held behind; it stays paused for picky until none is left.\n',
    );
    const unasked = await run(['projections', 'dead-letters', 'discard', '--all', '--db', db]);
    expect(unasked.code).toBe(2);
    expect(unasked.stderr).toContain(
      'Refusing to discard 1 dead letter (every projection) without confirmation',
    );
    const all = await run(['projections', 'dead-letters', 'discard', '--all', '--db', db, '--yes']);
    expect({ code: all.code, stdout: all.stdout }).toEqual({ code: 0, stdout: 'discarded 1\n' });
    const none = await run(['projections', 'dead-letters', 'discard', '--all', '--db', db, '--yes']);
    expect({ code: none.code, stdout: none.stdout }).toEqual({
      code: 1,
      stdout: 'No projection dead letters. Nothing discarded.\n',
    });
  });

  it('exits with 2 when told neither an id nor which ones, and 1 for an unknown id', async () => {
    const db = await fx.seeded();
    const neither = await run(['projections', 'dead-letters', 'discard', '--db', db]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('Say which dead letters to discard: pass an id, --projection <name>');
    const unknown = await run(['projections', 'dead-letters', 'show', 'picky@1:999', '--db', db]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No projection dead letter "picky@1:999"');
  });
});
