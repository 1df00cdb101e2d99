import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, defineProjection, isTidingsError } from '@tidings/core';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteEventStore } from './event-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'tidings-projections-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const placed = (orderId: string) => createEvent('OrderPlaced', 1, { orderId });
const counter = (version: number) =>
  defineProjection({
    name: 'orders-count',
    version,
    events: ['OrderPlaced'],
    apply: (_event, { documents }) =>
      documents.update<number>('totals', 'all', (count) => (count ?? 0) + version),
  });

describe('inline projections shared by two processes on one file', () => {
  it('takes a new version live beside the old one, then refuses appends from a process still on the old one', async () => {
    const file = join(dir, 'versions.db');
    const oldProcess = sqliteEventStore({ file, projections: [counter(1)] });
    await oldProcess.projections?.get('orders-count').live();
    for (let i = 0; i < 5; i += 1) await oldProcess.append(`order-${i}`, [placed(String(i))]);

    const newProcess = sqliteEventStore({ file, projections: [counter(2)] });
    await newProcess.projections?.get('orders-count').live();
    expect(await newProcess.projections?.documents('orders-count').get('totals', 'all')).toBe(10);
    await newProcess.append('order-5', [placed('5')]);
    expect(await oldProcess.projections?.documents('orders-count').get('totals', 'all')).toBe(12);

    let caught: unknown;
    try {
      await oldProcess.append('order-6', [placed('6')]);
    } catch (error) {
      caught = error;
    }
    expect(isTidingsError(caught, 'TIDINGS_UNSUPPORTED')).toBe(true);
    expect((caught as Error).message).toMatch(/live at version 2, but this process applies version 1/);
    expect((await newProcess.readStream('order-6')).streamExists).toBe(false);
    const states = (await newProcess.projections?.status())?.map((s) => [s.version, s.status, s.inline]);
    expect(states).toEqual([
      [1, 'retired', true],
      [2, 'live', true],
    ]);
    await oldProcess.close();
    await newProcess.close();
  });

  it('keeps the read model and the log together: a failing append changes neither', async () => {
    const store = sqliteEventStore({ file: join(dir, 'atomic.db'), projections: [counter(1)] });
    await store.projections?.get('orders-count').live();
    await store.append('order-1', [placed('1')], { expectedVersion: 'no-stream' });
    await expect(store.append('order-1', [placed('x')], { expectedVersion: 'no-stream' })).rejects.toThrow();
    expect(await store.projections?.documents('orders-count').get('totals', 'all')).toBe(1);
    await store.close();
  });

  it('refuses an apply that returns a promise, as a dead letter naming the rule', async () => {
    const slow = defineProjection({ name: 'slow', events: ['OrderPlaced'], apply: () => Promise.resolve() });
    const store = sqliteEventStore({ file: join(dir, 'sync.db'), projections: [slow] });
    await store.projections?.get('slow').live();
    await store.append('order-1', [placed('1')]);
    const letters = await store.projections?.deadLetters.list({});
    expect(letters?.map((d) => d.error.message)).toEqual([
      expect.stringMatching(/must be synchronous|without await/),
    ]);
    await store.close();
  });
});
