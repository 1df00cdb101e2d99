import assert from 'node:assert/strict';
import { eventually, parcel, type TransportCase } from './harness.ts';

const SUBJECTS = 5;
const TOTAL = 100;

/** Runs of one subject side by side, then interleaved: both shapes tempt a transport to overlap. */
const subjectOf = (n: number): number => (n < TOTAL / 2 ? Math.floor(n / 5) : n) % SUBJECTS;

/** Watermill's TestPublishSubscribeInOrder, per key, with several deliveries in flight at once. */
export const perSubjectOrder: TransportCase = {
  name: 'delivers one subject in publish order, one at a time',
  skipReason: (capabilities) =>
    capabilities.ordering === 'per-subject'
      ? undefined
      : `transport declares ordering ${capabilities.ordering}`,
  async run(t) {
    const order = new Map<string, number[]>();
    const inFlight = new Set<string>();
    const overlaps: string[] = [];
    let maxInFlight = 0;
    let total = 0;
    await t.consume({ group: 'sequencer', ordered: true, concurrency: 4 }, async (delivery) => {
      const key = delivery.message.key ?? '';
      if (inFlight.has(key)) overlaps.push(`${key} had two deliveries in flight`);
      inFlight.add(key);
      maxInFlight = Math.max(maxInFlight, inFlight.size);
      const { n } = JSON.parse(Buffer.from(delivery.message.body).toString('utf8')) as { n: number };
      // Uneven handling times, so a transport that does not hold a subject back overlaps and reorders.
      for (let turn = 0; turn < (n * 7) % 4; turn += 1) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      order.set(key, [...(order.get(key) ?? []), n]);
      inFlight.delete(key);
      total += 1;
      await delivery.ack();
    });
    const sent = Array.from({ length: TOTAL }, (_, n) => parcel(n, { subject: `subject-${subjectOf(n)}` }));
    for (let i = 0; i < sent.length; i += 10) await t.publish(...sent.slice(i, i + 10));
    await eventually(() => total >= sent.length, { what: () => `${total} of ${sent.length}` });

    assert.deepEqual(overlaps, []);
    for (let s = 0; s < SUBJECTS; s += 1) {
      const expected = sent.map((_, n) => n).filter((n) => subjectOf(n) === s);
      assert.deepEqual(order.get(`subject-${s}`), expected, `order of subject-${s}`);
    }
    assert.ok(maxInFlight > 1, 'different subjects never ran side by side: concurrency was not used');
  },
};
