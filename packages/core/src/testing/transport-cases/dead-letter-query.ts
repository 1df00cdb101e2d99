import assert from 'node:assert/strict';
import type { DeadLetterRecord } from '../../transport.ts';
import {
  eventually,
  ParcelLost,
  ParcelScanned,
  parcel,
  sampleFailure,
  type TransportCase,
} from './harness.ts';

/** What the console's dead-letter page asks: filters, and stable pages ordered by time then id. */
export const deadLetterQuery: TransportCase = {
  name: 'lists dead letters by topic, fingerprint and time, in stable pages',
  async run(t) {
    const group = t.unique('sorter');
    const storage = t.transport.deadLetters;
    const sent = Array.from({ length: 6 }, (_, n) =>
      parcel(n, n % 2 === 0 ? {} : { definition: ParcelLost }),
    );
    const fingerprintOf = (n: number): string => (n < 3 ? 'timeout' : 'declined');
    await t.consume({ group, topics: [ParcelScanned.type, ParcelLost.type] }, async (delivery) => {
      const { n } = JSON.parse(Buffer.from(delivery.message.body).toString('utf8')) as { n: number };
      await delivery.deadLetter(sampleFailure(t.time.now(), { fingerprint: fingerprintOf(n) }));
    });
    // One at a time, with time passing in between, so dead-letter times differ.
    for (const [n, message] of sent.entries()) {
      await t.publish(message);
      await eventually(async () => (await storage.list({ group })).length === n + 1, {
        what: `dead letter ${n}`,
      });
      await t.time.advance(t.time.pick(1_000, 5));
    }

    const all = await storage.list({ group });
    const sorted = [...all].sort(
      (a, b) => a.deadLetteredAt - b.deadLetteredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    assert.deepEqual(
      all.map((r) => r.id),
      sorted.map((r) => r.id),
      'listings are ordered by time, then id',
    );
    const ids = (records: readonly DeadLetterRecord[]): string[] => records.map((r) => r.message.id).sort();

    assert.deepEqual(
      ids(await storage.list({ group, topic: ParcelLost.type })),
      ids(all.filter((r) => r.message.topic === ParcelLost.type)),
    );
    assert.equal((await storage.list({ group, topic: ParcelLost.type })).length, 3);
    assert.deepEqual(
      ids(await storage.list({ group, fingerprint: 'timeout' })),
      ids(all.filter((r) => r.fingerprint === 'timeout')),
    );
    assert.equal((await storage.list({ group, fingerprint: 'timeout' })).length, 3);
    const since = (all[3] as DeadLetterRecord).deadLetteredAt;
    assert.deepEqual(
      ids(await storage.list({ group, since })),
      ids(all.filter((r) => r.deadLetteredAt >= since)),
    );

    const pages: DeadLetterRecord[][] = [];
    let after: string | undefined;
    // Bounded: a storage that ignores `after` would otherwise page forever.
    for (let turn = 0; turn < 5; turn += 1) {
      const page = await storage.list({ group, limit: 4, after });
      if (page.length === 0) break;
      pages.push([...page]);
      after = page.at(-1)?.id;
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [4, 2],
    );
    assert.deepEqual(
      pages.flat().map((r) => r.id),
      all.map((r) => r.id),
      'pages cover the listing once, in order',
    );
    const twoAfterFirst = await storage.list({ group, limit: 2, after: all[0]?.id });
    assert.deepEqual(
      twoAfterFirst.map((r) => r.id),
      all.slice(1, 3).map((r) => r.id),
    );
  },
};
