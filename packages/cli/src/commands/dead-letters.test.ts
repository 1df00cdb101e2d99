import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus } from '@tidings/core';
import { sqliteTransport } from '@tidings/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../fixtures/catalog.ts';
import { SEEDED, seedDeadLetters, until } from '../fixtures/dead-letters.ts';
import { run } from '../fixtures/run.ts';

const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-dead-letters-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh database holding the seeded dead letters, for a test that changes them. */
async function seeded(): Promise<string> {
  const file = join(await tempDir(), 'shop.db');
  await seedDeadLetters(file);
  return file;
}

interface Listed {
  id: string;
  group: string;
  handler: string;
  type: string;
  reason: string;
  attempts: number;
  fingerprint: string;
  error: { name: string; message: string; stack?: string };
  event: { data: { orderId: string } } | null;
}

async function listed(db: string, ...args: string[]): Promise<Listed[]> {
  const { code, stdout } = await run(['dead-letters', 'list', '--json', '--db', db, ...args]);
  expect(code).toBe(0);
  return JSON.parse(stdout) as Listed[];
}

const table = (stdout: string): string[][] =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/\s{2,}/));

// One database for the commands that only read it.
let db = '';
beforeAll(async () => {
  db = await seeded();
});

describe('tidings dead-letters list', () => {
  it('prints a table with the short id, group, type, reason, attempts, age and error', async () => {
    const { code, stdout, stderr } = await run(['dead-letters', 'list', '--db', db]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const [header, ...rows] = table(stdout);
    expect(header).toEqual(['ID', 'GROUP', 'TYPE', 'REASON', 'ATTEMPTS', 'AGE', 'ERROR']);
    expect(rows).toHaveLength(SEEDED.payments + SEEDED.shipping);
    const ids = (await listed(db)).map((deadLetter) => deadLetter.id);
    for (const [index, row] of rows.entries()) {
      expect(row[0]).toHaveLength(8);
      expect(ids[index]?.endsWith(row[0] ?? '')).toBe(true);
      expect(row.slice(2, 5)).toEqual(['OrderPlaced', 'exhausted', '1']);
      expect(row[5]).toMatch(/^\d+[smhd]$/);
    }
    expect(rows.filter((row) => row[1] === 'payments').map((row) => row[6])).toEqual(
      expect.arrayContaining(['Error: card declined for order o-1', 'Error: card declined for order o-2']),
    );
    expect(rows.filter((row) => row[1] === 'shipping').map((row) => row[6])).toEqual(
      // Cut to 60 characters, so that the table fits a terminal.
      Array(3).fill("TypeError: Cannot read properties of undefined (reading 'st…"),
    );
  });

  it('filters by group, type, error and time, and prints everything with --json', async () => {
    const payments = await listed(db, '--group', 'payments', '--type', 'OrderPlaced', '--since', '1h');
    expect(payments.map((deadLetter) => deadLetter.event?.data.orderId).sort()).toEqual(['o-1', 'o-2']);
    expect(payments[0]).toMatchObject({ group: 'payments', handler: 'payments', attempts: 1 });
    expect(payments[0]?.error.stack).toContain('card declined');

    expect(await listed(db, '--error', 'TypeError')).toHaveLength(SEEDED.shipping);
    expect(await listed(db, '--error', 'o-2')).toHaveLength(1);
    expect(await listed(db, '--type', 'ShipOrder')).toEqual([]);
    expect(await listed(db, '--since', '2999-01-01')).toEqual([]);
  });

  it('prints at most --limit dead letters and says there are more', async () => {
    const { code, stdout } = await run(['dead-letters', 'list', '--db', db, '--limit', '2']);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('Showing the first 2; pass --limit <n> to see more.');
  });

  it('says when nothing matches, and exits with 0', async () => {
    const { code, stdout } = await run(['dead-letters', 'list', '--db', db, '--group', 'nobody']);
    expect(code).toBe(0);
    expect(stdout).toBe('No dead letters match group nobody.\n');
  });

  it('exits with 2 for a --since or --limit it cannot read', async () => {
    const since = await run(['dead-letters', 'list', '--db', db, '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('Pass a duration back from now (30s, 15m, 1h, 2d, 1w) or an ISO date');
    expect((await run(['dead-letters', 'list', '--db', db, '--limit', '0'])).code).toBe(2);
  });
});

describe('tidings dead-letters show', () => {
  it('prints the failure, the error with its stack, the event data and the headers', async () => {
    const [deadLetter] = await listed(db, '--group', 'payments', '--error', 'o-1');
    const { code, stdout } = await run(['dead-letters', 'show', deadLetter?.id.slice(-8) ?? '', '--db', db]);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Dead letter ${deadLetter?.id}\n`));
    expect(stdout).toMatch(/\nReason +exhausted\n/);
    expect(stdout).toMatch(/\nGroup +payments\n/);
    expect(stdout).toMatch(/\nAttempts +1\n/);
    expect(stdout).toMatch(/\nFirst failure +\d{4}-\d\d-\d\dT[\d:.]+Z \(\d+s ago\)\n/);
    expect(stdout).toContain(`\nFingerprint    ${deadLetter?.fingerprint}\n`);
    expect(stdout).toMatch(/\nError\nError: card declined for order o-1\n {4}at /);
    expect(stdout).toMatch(/\nsubject +o-1\n/);
    expect(stdout).toContain('\nData\n{\n  "orderId": "o-1",\n  "total": 150,\n  "currency": "EUR"\n}\n');
    expect(stdout).toMatch(/\nHeaders\n[^]*ce-type +OrderPlaced\n/);
  });

  it('prints the dead letter as JSON with --json', async () => {
    const [deadLetter] = await listed(db, '--group', 'shipping');
    const { code, stdout } = await run(['dead-letters', 'show', deadLetter?.id ?? '', '--json', '--db', db]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      id: deadLetter?.id,
      handler: 'label-printer',
      error: { name: 'TypeError' },
      message: { topic: 'OrderPlaced', headers: { 'ce-type': 'OrderPlaced' } },
      deadLetteredAt: expect.stringMatching(/Z$/),
    });
  });

  it('exits with 1 for an id that names no dead letter, and 2 for one that names several', async () => {
    const missing = await run(['dead-letters', 'show', '0000ffff', '--db', db]);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain('No dead letter "0000ffff"; run `tidings dead-letters list`');

    // UUIDv7 ids start with their timestamp: the letters of one incident share a prefix.
    const [deadLetter] = await listed(db);
    const ambiguous = await run(['dead-letters', 'show', deadLetter?.id.slice(0, 4) ?? '', '--db', db]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('matches 5 dead letters');
  });

  it('exits with 2 without an id', async () => {
    const { code, stderr } = await run(['dead-letters', 'show', '--db', db]);
    expect(code).toBe(2);
    expect(stderr).toContain("missing required argument 'id'");
  });
});

describe('tidings dead-letters groups and depth', () => {
  it('groups failures by fingerprint, largest first', async () => {
    const { code, stdout } = await run(['dead-letters', 'groups', '--db', db]);
    expect(code).toBe(0);
    const [header, ...rows] = table(stdout);
    expect(header).toEqual(['FINGERPRINT', 'COUNT', 'GROUP/HANDLER', 'ERROR', 'TYPES', 'FIRST', 'LAST']);
    expect(rows.map((row) => row.slice(1, 5))).toEqual([
      [
        '3',
        'shipping/label-printer',
        "TypeError: Cannot read properties of undefined (reading 'st…",
        'OrderPlaced',
      ],
      // The order ids differ, the fingerprint blanks them out: one bug, one group.
      ['2', 'payments', expect.stringMatching(/^Error: card declined for order o-[12]$/), 'OrderPlaced'],
    ]);
    for (const row of rows) expect(row[0]).toMatch(/^[0-9a-f]{12}$/);
  });

  it('prints the groups as JSON with --json, filtered like list', async () => {
    const { code, stdout } = await run([
      'dead-letters',
      'groups',
      '--json',
      '--group',
      'payments',
      '--db',
      db,
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({ group: 'payments', count: 2, errorName: 'Error', types: ['OrderPlaced'] }),
    ]);
  });

  it('counts the dead letters of each group with the age of the oldest', async () => {
    const { code, stdout } = await run(['dead-letters', 'depth', '--db', db]);
    expect(code).toBe(0);
    const [header, ...rows] = table(stdout);
    expect(header).toEqual(['GROUP', 'DEAD LETTERS', 'OLDEST']);
    expect(rows).toEqual([
      ['payments', '2', expect.stringMatching(/^\d+[smhd]$/)],
      ['shipping', '3', expect.stringMatching(/^\d+[smhd]$/)],
    ]);
    const asJson = await run(['dead-letters', 'depth', '--json', '--db', db]);
    expect(JSON.parse(asJson.stdout)).toEqual([
      expect.objectContaining({ group: 'payments', count: 2, oldestAt: expect.stringMatching(/Z$/) }),
      expect.objectContaining({ group: 'shipping', count: 3 }),
    ]);
  });
});

describe('tidings dead-letters replay', () => {
  it('republishes the dead letters a filter matches to their group, which handles them again', async () => {
    const file = await seeded();
    const { code, stdout, stderr } = await run([
      'dead-letters',
      'replay',
      '--group',
      'payments',
      '--db',
      file,
    ]);
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: 'replayed 2\n', stderr: '' });
    expect(table((await run(['dead-letters', 'depth', '--db', file])).stdout).slice(1)).toEqual([
      ['shipping', '3', expect.any(String)],
    ]);

    // The payments group, fixed and running again, receives the replayed orders; shipping does not.
    const received: string[] = [];
    const bus = createBus({ catalog, transport: sqliteTransport({ file }), retry: false });
    try {
      await bus.subscribe({
        group: 'payments',
        handlers: { OrderPlaced: (event) => void received.push(event.data.orderId) },
      });
      await until(() => received.length === 2, 'the replayed orders');
      expect(received.sort()).toEqual(['o-1', 'o-2']);
      expect(await bus.deadLetters.depth()).toEqual([
        expect.objectContaining({ group: 'shipping', count: 3 }),
      ]);
    } finally {
      await bus.close();
    }
  });

  it('replays one dead letter by its short id', async () => {
    const file = await seeded();
    const [deadLetter] = await listed(file, '--group', 'shipping');
    const once = await run(['dead-letters', 'replay', deadLetter?.id.slice(-8) ?? '', '--db', file]);
    expect(once).toEqual({ code: 0, stdout: 'replayed 1\n', stderr: '' });
    expect(await listed(file, '--group', 'shipping')).toHaveLength(SEEDED.shipping - 1);

    const again = await run(['dead-letters', 'replay', deadLetter?.id ?? '', '--db', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`No dead letter "${deadLetter?.id}"`);
  });

  it('draws a progress bar on stderr when it is a terminal', async () => {
    const file = await seeded();
    const { code, stdout, stderr } = await run(['dead-letters', 'replay', '--all', '--yes', '--db', file], {
      io: { stderrIsTTY: true },
    });
    expect(code).toBe(0);
    expect(stdout).toBe('replayed 5\n');
    expect(stderr).toContain('\rreplaying [');
    expect(stderr).toContain('] 5/5');
    expect(stderr.endsWith('\r\u001b[2K')).toBe(true);
  });

  it('asks first on a terminal, and replays nothing unless the answer is yes', async () => {
    const file = await seeded();
    const questions: string[] = [];
    const no = await run(['dead-letters', 'replay', '--type', 'OrderPlaced', '--db', file], {
      io: { stdinIsTTY: true, prompt: (question) => (questions.push(question), Promise.resolve('n')) },
    });
    expect(no).toEqual({ code: 1, stdout: 'Nothing replayed.\n', stderr: '' });
    expect(questions).toEqual(['Replay 5 dead letters (type OrderPlaced)? [y/N] ']);
    expect(await listed(file)).toHaveLength(5);
  });

  it('refuses, with exit code 2, to replay without an id or a filter', async () => {
    const file = await seeded();
    const { code, stdout, stderr } = await run(['dead-letters', 'replay', '--db', file]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain('Say which dead letters to replay: pass an id, or filter them with --group');
    expect(await listed(file)).toHaveLength(5);

    const both = await run(['dead-letters', 'replay', 'abcd1234', '--group', 'payments', '--db', file]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('Pass either a dead letter id or filter options to replay, not both.');
  });

  it('exits with 1 when the filter matches nothing', async () => {
    const { code, stdout } = await run(['dead-letters', 'replay', '--type', 'ShipOrder', '--db', db]);
    expect(code).toBe(1);
    expect(stdout).toBe('No dead letters match type ShipOrder. Nothing replayed.\n');
  });
});

describe('tidings dead-letters discard', () => {
  it('removes one dead letter by id, and exits with 1 when it is already gone', async () => {
    const file = await seeded();
    const [deadLetter] = await listed(file, '--group', 'payments');
    const once = await run(['dead-letters', 'discard', deadLetter?.id ?? '', '--db', file]);
    expect(once).toEqual({ code: 0, stdout: 'discarded 1\n', stderr: '' });
    expect((await listed(file)).map((left) => left.id)).not.toContain(deadLetter?.id);
    expect((await run(['dead-letters', 'discard', deadLetter?.id ?? '', '--db', file])).code).toBe(1);
  });

  it('refuses a bulk discard without --yes when stdin is not a terminal', async () => {
    const file = await seeded();
    const refused = await run(['dead-letters', 'discard', '--group', 'shipping', '--db', file]);
    expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 2, stdout: '' });
    expect(refused.stderr).toBe(
      'error: Refusing to discard 3 dead letters (group shipping) without confirmation: pass --yes to discard them.\n',
    );
    expect(await listed(file, '--group', 'shipping')).toHaveLength(3);

    const done = await run(['dead-letters', 'discard', '--group', 'shipping', '--yes', '--db', file]);
    expect(done).toEqual({ code: 0, stdout: 'discarded 3\n', stderr: '' });
    expect(await listed(file, '--group', 'shipping')).toEqual([]);
    expect(await listed(file, '--group', 'payments')).toHaveLength(2);
  });

  it('discards after a yes on the terminal', async () => {
    const file = await seeded();
    const { code, stdout } = await run(['dead-letters', 'discard', '--error', 'declined', '--db', file], {
      io: { stdinIsTTY: true, prompt: () => Promise.resolve('y') },
    });
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'discarded 2\n' });
    expect(await listed(file)).toHaveLength(SEEDED.shipping);
  });

  it('refuses, with exit code 2, to discard without an id or a filter', async () => {
    const { code, stderr } = await run(['dead-letters', 'discard', '--yes', '--db', db]);
    expect(code).toBe(2);
    expect(stderr).toContain('Say which dead letters to discard');
  });
});

describe('where the dead letters come from', () => {
  it('exits with 2 for a --db file that does not exist, without creating it', async () => {
    const cwd = await tempDir();
    const { code, stdout, stderr } = await run(['dead-letters', 'list', '--db', 'missing.db'], { cwd });
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      `error: Database file not found: missing.db (--db; looked at ${join(cwd, 'missing.db')}); ` +
        'pass --db <file> (the SQLite file given to sqliteTransport({ file })).\n',
    );
    expect(existsSync(join(cwd, 'missing.db'))).toBe(false);
  });

  it('exits with 2 when no database is named', async () => {
    const { code, stderr } = await run(['dead-letters', 'depth'], { cwd: await tempDir() });
    expect(code).toBe(2);
    expect(stderr).toContain('error: No database to read: pass --db <file>');
  });

  it('exits with 2 for a file that is not a SQLite database', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'notes.txt'), 'not a database\n');
    await writeFile(join(cwd, 'empty.db'), '');
    const text = await run(['dead-letters', 'depth', '--db', 'notes.txt'], { cwd });
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('notes.txt (--db) is not a SQLite database;');
    const empty = await run(['dead-letters', 'depth', '--db', 'empty.db'], { cwd });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('empty.db (--db) is not a SQLite database (it is empty);');
  });

  it('reads db from tidings.config.js, which needs no catalog for it', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'tidings.config.js'), `export const db = ${JSON.stringify(db)};\n`);
    const { code, stdout } = await run(['dead-letters', 'depth'], { cwd });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^GROUP +DEAD LETTERS +OLDEST\npayments +2 /);
  });

  it('exits with 2 when db in tidings.config.js is not a path', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'tidings.config.js'), 'export default { db: 42 };\n');
    const { code, stderr } = await run(['dead-letters', 'depth'], { cwd });
    expect(code).toBe(2);
    expect(stderr).toContain('db in tidings.config.js must be the path of the SQLite file');
  });
});
