import assert from 'node:assert/strict';
import { eventually, gate, parcel, type TransportCase } from './harness.ts';

const TOTAL = 50;
const BEFORE_CLOSE = 10;

/** Watermill's TestContinueAfterSubscribeClose: closing a member loses nothing its group had. */
export const closeAndResume: TransportCase = {
  name: 'gives a new consumer in the same group what a closed one left',
  async run(t) {
    const closing = gate();
    const first = new Set<string>();
    const consumer = await t.consume({ group: 'resumers', concurrency: 2 }, async (delivery) => {
      // After ten, hold on until close is under way, so that work is left for the next member.
      if (first.size >= BEFORE_CLOSE) await closing.opened;
      first.add(delivery.message.id);
      await delivery.ack();
    });
    const sent = Array.from({ length: TOTAL }, (_, n) => parcel(n));
    await t.publish(...sent);
    await eventually(() => first.size >= BEFORE_CLOSE, {
      what: () => `${first.size} of ${BEFORE_CLOSE} before close`,
    });
    const closed = consumer.close();
    closing.open();
    await closed;
    const ackedBeforeClose = new Set(first);

    const second = new Set<string>();
    await t.consume({ group: 'resumers', concurrency: 2 }, async (delivery) => {
      second.add(delivery.message.id);
      await delivery.ack();
    });
    await eventually(() => sent.every((m) => ackedBeforeClose.has(m.id) || second.has(m.id)), {
      what: () => `${ackedBeforeClose.size} + ${second.size} of ${TOTAL}`,
    });
    await t.time.idle();
    assert.ok(
      ackedBeforeClose.size < TOTAL,
      'the first consumer took everything; nothing was left to resume',
    );
    for (const id of second) assert.ok(!ackedBeforeClose.has(id), `${id} was acked, then delivered again`);
  },
};
