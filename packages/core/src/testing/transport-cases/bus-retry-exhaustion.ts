import assert from 'node:assert/strict';
import type { DeadLetter } from '../../dead-letters.ts';
import { eventually, ParcelScanned, type TransportCase } from './harness.ts';

/** The anchors' C18/C19 through the bus: retries used up, the history kept, the original acked, other groups untouched. */
export const busRetryExhaustion: TransportCase = {
  name: 'bus: dead-letters a message whose retries are used up, with its history, and acks it',
  async run(t) {
    const delayMs = t.time.pick(1_000, 200);
    const delays = t.capabilities.delayedDelivery ? [delayMs] : [];
    const bus = t.bus({ retry: { immediate: 1, minDelayMs: 10, maxDelayMs: 10, delays, jitter: 0 } });
    const billing = t.unique('billing');
    const runs: { attempt: number; at: number }[] = [];
    const audited: string[] = [];
    await bus.subscribe({
      group: billing,
      name: 'chargeCard',
      events: [ParcelScanned],
      handler: (event, ctx) => {
        runs.push({ attempt: ctx.attempt, at: t.clock.now() });
        throw new Error(`card declined for parcel ${event.data.n}`);
      },
    });
    await bus.subscribe({
      group: t.unique('audit'),
      events: [ParcelScanned],
      handler: (event) => {
        audited.push(event.id);
      },
    });
    const event = ParcelScanned.create({ n: 7 }, { subject: 'order-7' });
    await bus.publish(event);
    const deadLetters = (): Promise<readonly DeadLetter[]> => bus.deadLetters.list({ group: billing });
    await t.time.until(async () => (await deadLetters()).length === 1, {
      stepMs: 10,
      maxSteps: 2_000,
      what: () => `the dead letter (after ${runs.length} runs)`,
    });

    // One immediate retry per delivery; one delayed redelivery where the transport can delay.
    const expectedRuns = 2 * (delays.length + 1);
    assert.deepEqual(
      runs.map((run) => run.attempt),
      delays.length > 0 ? [1, 1, 2, 2] : [1, 1],
    );
    const [deadLetter] = (await deadLetters()) as [DeadLetter];
    assert.equal(deadLetter.reason, 'exhausted');
    assert.equal(deadLetter.handler, 'chargeCard');
    assert.equal(deadLetter.attempts, expectedRuns);
    assert.equal(deadLetter.error.name, 'Error');
    assert.equal(deadLetter.error.message, 'card declined for parcel 7');
    assert.match(deadLetter.error.stack ?? '', /card declined/);
    const first = runs[0]?.at ?? Number.NaN;
    const last = runs.at(-1)?.at ?? Number.NaN;
    assert.ok(deadLetter.firstFailedAt >= first && deadLetter.firstFailedAt <= (runs[1]?.at ?? last));
    assert.ok(deadLetter.lastFailedAt >= last, 'lastFailedAt is before the last run');
    assert.match(deadLetter.fingerprint, /\S/);
    assert.equal(deadLetter.group, billing);
    assert.equal(deadLetter.channel, t.channel);
    assert.equal(deadLetter.type, ParcelScanned.type);
    assert.equal(deadLetter.message.id, event.id);
    assert.deepEqual(deadLetter.event?.data, { n: 7 });

    // Dead-lettered means done: nothing comes back, not even once a lease would have run out.
    await t.time.advance(t.time.pick(120_000, 300));
    await t.time.idle();
    assert.equal(runs.length, expectedRuns, 'the handler ran again after the dead letter');
    await eventually(() => audited.length === 1, { what: 'the audit group to handle the event' });
    assert.deepEqual(audited, [event.id]);
    assert.deepEqual(await bus.deadLetters.list({ group: t.unique('audit') }), []);
  },
};
