import { memoryEventStore, memoryTransport } from '@tidings/core';
import { describe, expect, it } from 'vitest';
import { runShop } from './shop.ts';

describe('the shop', () => {
  it('runs the whole flow on the memory transport and store, with its read models and a temporal query', async () => {
    const lines: string[] = [];
    const outcome = await runShop({
      transport: memoryTransport(),
      openStore: (options) => memoryEventStore(options),
      log: (line) => lines.push(line),
    });

    expect(Object.fromEntries(outcome.finished)).toEqual({
      'o-1001': 'shipped',
      'o-1002': 'cancelled (card limit of 500 exceeded)',
      'o-1003': 'shipped',
      'o-1004': 'shipped',
    });
    expect(outcome.refused).toMatch(/o-1001 is already shipped/);

    // Inline: every order sits in the collection of its current status, and only there.
    expect(outcome.byStatus).toEqual({
      placed: [],
      paid: [],
      shipped: ['o-1001', 'o-1003', 'o-1004'],
      cancelled: ['o-1002'],
    });
    // Async: the three paid orders (the old till's v1 order upcast with its total), whatever the day.
    const paid = outcome.revenue.reduce((sum, day) => sum + day.document.orders, 0);
    const euros = outcome.revenue.reduce((sum, day) => sum + (day.document.revenue.EUR ?? 0), 0);
    expect([paid, euros]).toEqual([3, 9 + 420 + 12]);

    // Ten seconds before the end, by the store's clock, the kayak was paid for but not yet shipped.
    expect(outcome.kayak.then).toMatchObject({ status: 'paid', total: 420 });
    expect(outcome.kayak.now).toMatchObject({ status: 'shipped', trackingId: 'PC-o-1003' });
    expect(lines).toContain('  then: paid (stream version 2)');
  });
});
