import assert from 'node:assert/strict';
import { eventually, parcel, type TransportCase } from './harness.ts';

/** The anchors' C25: a failure parks its subject, other subjects carry on, and the order survives the retry. */
export const perSubjectOrderAfterNack: TransportCase = {
  name: "keeps a subject's order after a nack while other subjects continue",
  skipReason: (capabilities) =>
    capabilities.ordering === 'per-subject'
      ? undefined
      : `transport declares ordering ${capabilities.ordering}`,
  async run(t) {
    const delayMs = t.capabilities.delayedDelivery ? t.time.pick(5_000, 500) : 0;
    const k = [parcel(1, { subject: 'k' }), parcel(2, { subject: 'k' }), parcel(3, { subject: 'k' })];
    const l = [parcel(4, { subject: 'l' }), parcel(5, { subject: 'l' }), parcel(6, { subject: 'l' })];
    const log: string[] = [];
    const acked = new Set<string>();
    const failed = k[0]?.id;
    await t.consume({ group: 'parker', ordered: true, concurrency: 2 }, async (delivery) => {
      const { id } = delivery.message;
      log.push(`${id}#${delivery.attempt}`);
      if (id === failed && delivery.attempt === 1) {
        await delivery.nack(delayMs > 0 ? { delayMs } : {});
        return;
      }
      acked.add(id);
      await delivery.ack();
    });
    await t.publish(...k, ...l);

    if (delayMs > 0) {
      await eventually(() => l.every((m) => acked.has(m.id)), { what: 'subject l to finish while k waits' });
      await t.time.idle();
      assert.ok(
        !log.some((entry) => entry.startsWith(`${k[1]?.id}#`)),
        'k2 ran while k1 waited for its retry',
      );
      await t.time.advance(delayMs);
    }
    await eventually(() => acked.size === 6, { what: () => `${acked.size} of 6 (log: ${log.join(', ')})` });

    const kLog = log.filter((entry) => k.some((m) => entry.startsWith(`${m.id}#`)));
    assert.deepEqual(kLog, [`${k[0]?.id}#1`, `${k[0]?.id}#2`, `${k[1]?.id}#1`, `${k[2]?.id}#1`]);
    const lLog = log.filter((entry) => l.some((m) => entry.startsWith(`${m.id}#`)));
    assert.deepEqual(
      lLog,
      l.map((m) => `${m.id}#1`),
    );
  },
};
