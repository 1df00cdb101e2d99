import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createEvent,
  formatSequencePosition as at,
  type Projection,
  type ProjectionState,
  runProjections,
} from '@tidings/core';
import { sqliteEventStore } from '@tidings/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendOrders,
  PROJECTIONS_MODULE,
  type ProjectionsFixture,
  projectionStates,
  projectionsFixture,
  shipped,
  table,
} from '../fixtures/projections.ts';
import { FIXTURE, run } from '../fixtures/run.ts';
import { postgresStoreFixture } from '../fixtures/postgres-store.ts';
import { openStoreUrl } from '../store-url.ts';

let fx: ProjectionsFixture;
beforeAll(async () => {
  fx = await projectionsFixture();
});
afterAll(() => fx.cleanup());

describe('tidings projections status', () => {
  it('prints every version with its status, mode, counts and position', async () => {
    const db = await fx.seeded();
    const { code, stdout, stderr } = await run(['projections', 'status', '--store', `sqlite:${db}`]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const [header, ...rows] = table(stdout);
    expect(header).toEqual([
      'NAME',
      'VERSION',
      'STATUS',
      'MODE',
      'APPLIED',
      'DEAD-LETTERED',
      'POSITION',
      'UPDATED',
    ]);
    expect(rows.map((row) => row.slice(0, 7))).toEqual([
      ['orders', '1', 'live', 'async', '5', '0', at(5)],
      ['picky', '1', 'live', 'async', '2', '2', at(5)],
    ]);
    expect(rows[0]?.[7]).toMatch(/^\d+s ago$/);
  });

  it('prints the states as JSON, and says when the store has none', async () => {
    const db = await fx.seeded(['orders']);
    const { stdout } = await run(['projections', 'status', '--db', db, '--json']);
    const [orders] = JSON.parse(stdout) as ProjectionState[];
    expect(orders).toMatchObject({ name: 'orders', version: 1, status: 'live', inline: false, applied: 5 });

    const empty = join(await fx.tempDir(), 'empty.db');
    await sqliteEventStore({ file: empty }).close();
    const none = await run(['projections', 'status', '--store', `sqlite:${empty}`]);
    expect({ code: none.code, stdout: none.stdout }).toEqual({
      code: 0,
      stdout: 'No projections in the store yet.\n',
    });
  });

  it('shows how far a building version has got when given its code, and what is not built yet', async () => {
    const db = join(await fx.tempDir(), 'shop.db');
    const store = sqliteEventStore({ file: db });
    await appendOrders(store);
    // Stop after the first batch of two events: three of the five are left to apply.
    await new Promise<void>((resolve) => {
      const runner = runProjections(store, {
        projections: [fx.projection('orders')],
        batchSize: 2,
        onProgress: () => resolve(runner.close()),
      });
    });
    await store.close();

    const bare = await run(['projections', 'status', '--db', db]);
    expect(table(bare.stdout)[1]?.slice(0, 5)).toEqual(['orders', '1', 'building', 'async', '2']);

    const { code, stdout } = await run(['projections', 'status', '--db', db, '--projections', fx.modulePath]);
    expect(code).toBe(0);
    expect(table(stdout)[1]?.slice(0, 3)).toEqual(['orders', '1', 'building 40%']);
    expect(stdout).toContain('Not in the store yet: picky v1 (built when first run).');
    const json = await run(['projections', 'status', '--db', db, '--projections', fx.modulePath, '--json']);
    expect((JSON.parse(json.stdout) as { progress?: unknown }[])[0]?.progress).toEqual({
      done: 2,
      remaining: 3,
      percent: 40,
    });
  });
});

describe('tidings projections rebuild', () => {
  it('empties and rebuilds a projection, printing progress lines, the count and the time taken', async () => {
    const db = await fx.seeded(['orders']);
    const before = (await projectionStates(db))[0] as ProjectionState;
    const { code, stdout, stderr } = await run([
      'projections',
      'rebuild',
      'orders',
      '--db',
      db,
      '--projections',
      fx.modulePath,
      '--yes',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Rebuilt orders v1 in \d+(\.\d)?m?s: 5 events applied, 0 dead-lettered\.\n$/);
    expect(stderr).toContain('rebuilding orders: 100% (5/5 events)\n');
    expect(stderr).toContain('No catalog: events are applied as stored');
    const after = (await projectionStates(db))[0] as ProjectionState;
    expect(after).toMatchObject({ status: 'live', applied: 5, position: before.position });
    expect(after.startedAt >= before.startedAt).toBe(true);
  });

  it('draws a progress bar on a terminal and asks first, doing nothing on no', async () => {
    const db = await fx.seeded(['orders']);
    const questions: string[] = [];
    const declined = await run(
      ['projections', 'rebuild', 'orders', '--db', db, '--projections', fx.modulePath],
      {
        io: { stdinIsTTY: true, prompt: (question) => (questions.push(question), Promise.resolve('n')) },
      },
    );
    expect({ code: declined.code, stdout: declined.stdout }).toEqual({
      code: 1,
      stdout: 'Nothing rebuilt.\n',
    });
    expect(questions).toEqual([
      'Rebuild projection "orders" version 1? Its read model is emptied, then the 5 events of its types ' +
        'applied again; reads see it partly filled until it is live. [y/N] ',
    ]);

    const confirmed = await run(
      ['projections', 'rebuild', 'orders', '--db', db, '--projections', fx.modulePath],
      {
        io: { stdinIsTTY: true, stderrIsTTY: true, prompt: () => Promise.resolve('y') },
      },
    );
    expect(confirmed.code).toBe(0);
    expect(confirmed.stderr).toContain('\rrebuilding orders [##############################] 5/5');
    expect(confirmed.stderr.endsWith('\r\u001b[2K')).toBe(true);
  });

  it('exits with 1 and points at the dead letters when events fail', async () => {
    const db = await fx.seeded(['picky']);
    const { code, stdout, stderr } = await run([
      'projections',
      'rebuild',
      'picky',
      '--db',
      db,
      '--projections',
      fx.modulePath,
      '--yes',
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/: 2 events applied, 2 dead-lettered\.\n$/);
    expect(stderr).toContain(
      '2 events went to the dead letters: run `tidings projections dead-letters list --projection picky`',
    );
  });

  it('keeps an inline projection inline, so the application goes on applying it in appends', async () => {
    const db = join(await fx.tempDir(), 'shop.db');
    const app = sqliteEventStore({ file: db, projections: [fx.projection('orders')] });
    await appendOrders(app);
    await app.projections?.get('orders').live();
    await app.close();

    const { code } = await run([
      'projections',
      'rebuild',
      'orders',
      '--db',
      db,
      '--projections',
      fx.modulePath,
      '--yes',
    ]);
    expect(code).toBe(0);
    expect((await projectionStates(db))[0]).toMatchObject({ status: 'live', inline: true, applied: 5 });

    const again = sqliteEventStore({ file: db, projections: [fx.projection('orders')] });
    await again.append('order-3', [shipped('o-3')]);
    expect(await again.projections?.documents('orders').get('orders', 'o-3')).toBe('OrderShipped');
    await again.close();
  });

  it('reads the events through the catalog of --catalog or of the projections module', async () => {
    const db = join(await fx.tempDir(), 'shop.db');
    const store = sqliteEventStore({ file: db });
    await store.append('order-9', [createEvent('OrderPlaced', 1, { orderId: 'o-9', total: 5 })]);
    await store.close();
    const cwd = await fx.tempDir();
    const currencies = `import { defineProjection } from '@tidings/core';
export const projections = [defineProjection({
  name: 'currencies',
  events: ['OrderPlaced'],
  apply: (event, { documents }) => documents.put('orders', event.data.orderId, event.data.currency ?? 'none'),
})];
`;
    await writeFile(join(cwd, 'plain.mjs'), currencies);
    await writeFile(
      join(cwd, 'typed.mjs'),
      `${currencies}export { catalog } from '${pathToFileURL(FIXTURE).href}';\n`,
    );
    const currency = async (): Promise<unknown> => {
      const reader = sqliteEventStore({ file: db });
      const {
        projections: [code],
      } = (await import(pathToFileURL(join(cwd, 'plain.mjs')).href)) as {
        projections: Projection[];
      };
      const runner = runProjections(reader, { projections: [code as Projection] });
      try {
        return await runner.documents('currencies').get('orders', 'o-9');
      } finally {
        await runner.close();
        await reader.close();
      }
    };
    const rebuild = (...args: string[]) =>
      run(['projections', 'rebuild', 'currencies', '--db', db, '--yes', ...args], { cwd });

    expect((await rebuild('--projections', 'plain.mjs')).code).toBe(0);
    expect(await currency()).toBe('none');
    const flagged = await rebuild('--projections', 'plain.mjs', '--catalog', FIXTURE);
    expect({ code: flagged.code, stderr: flagged.stderr }).toEqual({
      code: 0,
      stderr: expect.not.stringContaining('No catalog'),
    });
    expect(await currency()).toBe('EUR');
    await rebuild('--projections', 'plain.mjs');
    expect((await rebuild('--projections', 'typed.mjs')).code).toBe(0);
    expect(await currency()).toBe('EUR');
  });

  it('stops with 1 when a batch fails instead of retrying forever', async () => {
    const db = await fx.seeded(['orders']);
    const cwd = await fx.tempDir();
    await writeFile(
      join(cwd, 'broken.mjs'),
      `import { defineProjection } from '@tidings/core';
export const projections = [defineProjection({
  name: 'broken',
  events: ['OrderPlaced'],
  setup: () => { throw new Error('no such table: broken_orders'); },
  apply: () => {},
})];
`,
    );
    const { code, stdout, stderr } = await run(
      ['projections', 'rebuild', 'broken', '--db', db, '--projections', 'broken.mjs', '--yes'],
      { cwd },
    );
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toContain(
      'error: Rebuilding "broken" failed: no such table: broken_orders. It stays building',
    );
  });

  it('exits with 2 for an unknown name, listing the known ones, and without --yes off a terminal', async () => {
    const db = await fx.seeded(['orders']);
    const unknown = await run([
      'projections',
      'rebuild',
      'order',
      '--db',
      db,
      '--projections',
      fx.modulePath,
    ]);
    expect({ code: unknown.code, stdout: unknown.stdout }).toEqual({ code: 2, stdout: '' });
    expect(unknown.stderr).toBe(
      `error: No projection "order" in ${fx.modulePath}; it defines: orders, picky.\n`,
    );

    const unasked = await run([
      'projections',
      'rebuild',
      'orders',
      '--db',
      db,
      '--projections',
      fx.modulePath,
    ]);
    expect(unasked.code).toBe(2);
    expect(unasked.stderr).toContain(
      'Refusing to rebuild projection "orders" version 1 without confirmation: pass --yes',
    );
  });

  it('exits with 2 saying how to pass the projections when there are none or the module is missing', async () => {
    const db = await fx.seeded(['orders']);
    const cwd = await fx.tempDir();
    const none = await run(['projections', 'rebuild', 'orders', '--db', db, '--yes'], { cwd });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('No projections to rebuild "orders" from: pass --projections <module>');

    const missing = await run(['projections', 'rebuild', 'orders', '--db', db, '--projections', 'nope.mjs'], {
      cwd,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Projections module not found: nope.mjs');

    await writeFile(join(cwd, 'bad.mjs'), 'export const projections = [{ name: "x" }];\n');
    const bad = await run(['projections', 'rebuild', 'x', '--db', db, '--projections', 'bad.mjs'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad.mjs: projections[0] is an object, not a defineProjection() result');
  });

  it('refuses to rebuild a version older than the one the store runs', async () => {
    const db = await fx.seeded(['orders']);
    const cwd = await fx.tempDir();
    const newer = PROJECTIONS_MODULE.replace("name: 'orders',", "name: 'orders', version: 2,");
    await writeFile(join(cwd, 'v2.mjs'), newer);
    const upgraded = await run(
      ['projections', 'rebuild', 'orders', '--db', db, '--projections', 'v2.mjs', '--yes'],
      {
        cwd,
      },
    );
    expect(upgraded.stdout).toMatch(/^Rebuilt orders v2/);
    const downgraded = await run(
      ['projections', 'rebuild', 'orders', '--db', db, '--projections', fx.modulePath],
      {
        cwd,
      },
    );
    expect(downgraded.code).toBe(2);
    expect(downgraded.stderr).toContain('The store runs version 2 of "orders" (live), newer than version 1');
  });
});

describe('projections from tidings.config.js', () => {
  it('reads projections and db from the config file', async () => {
    const db = await fx.seeded(['orders']);
    const cwd = await fx.tempDir();
    await writeFile(
      join(cwd, 'tidings.config.mjs'),
      `export { projections } from '${pathToFileURL(fx.modulePath).href}';\nexport const db = ${JSON.stringify(db)};\n`,
    );
    const status = await run(['projections', 'status'], { cwd });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Not in the store yet: picky v1');
    const rebuilt = await run(['projections', 'rebuild', 'orders', '--yes'], { cwd });
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(/^Rebuilt orders v1 in /);
  });
});

const { storeUrl, up: postgresUp, dropSchema } = await postgresStoreFixture('projections');

describe.skipIf(!postgresUp)('tidings projections on PostgreSQL', () => {
  afterAll(dropSchema);

  it('prints the status of a postgres:// store', async () => {
    const store = await openStoreUrl(storeUrl, process.cwd());
    await appendOrders(store);
    const runner = runProjections(store, { projections: [fx.projection('orders')] });
    await runner.get('orders').live();
    await runner.close();
    await store.close();
    const { code, stdout } = await run(['projections', 'status', '--store', storeUrl]);
    expect(code).toBe(0);
    expect(table(stdout).map((row) => row.slice(0, 5))).toEqual([
      ['NAME', 'VERSION', 'STATUS', 'MODE', 'APPLIED'],
      ['orders', '1', 'live', 'async', '5'],
    ]);
  });
});
