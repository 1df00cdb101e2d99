import assert from 'node:assert/strict';
import type { DeadLetterRecord } from '../../transport.ts';
import { bytes, eventually, parcel, sampleFailure, type TransportCase } from './harness.ts';

/** The anchors' C18/C19 at the transport level: a group's dead letters are its own, and operators can act on them. */
export const deadLetters: TransportCase = {
  name: 'keeps dead letters per group: listable, replayable to that group only, discardable, with depth',
  async run(t) {
    const billing = t.unique('billing');
    const audit = t.unique('audit');
    const storage = t.transport.deadLetters;
    const poison = parcel(1, { subject: 'order-1' });
    const fine = parcel(2, { subject: 'order-2' });
    const doomed = parcel(3, { subject: 'order-3' });
    const refuse = new Set([poison.id, doomed.id]);
    const billingSeen: string[] = [];
    const auditSeen: string[] = [];
    const failedAt = t.time.now();
    await t.consume({ group: billing }, async (delivery) => {
      billingSeen.push(delivery.message.id);
      if (refuse.delete(delivery.message.id)) await delivery.deadLetter(sampleFailure(failedAt));
      else await delivery.ack();
    });
    await t.consume({ group: audit }, async (delivery) => {
      auditSeen.push(delivery.message.id);
      await delivery.ack();
    });
    await t.publish(poison, fine);
    const listBilling = (): Promise<readonly DeadLetterRecord[]> => storage.list({ group: billing });
    await eventually(async () => (await listBilling()).length === 1 && auditSeen.length === 2, {
      what: 'one dead letter in billing and two deliveries in audit',
    });

    const [record] = (await listBilling()) as [DeadLetterRecord];
    assert.equal(record.group, billing);
    assert.equal(record.channel, t.channel);
    assert.equal(record.message.id, poison.id);
    assert.equal(record.message.topic, poison.topic);
    assert.equal(record.message.key, poison.key);
    assert.deepEqual({ ...record.message.headers }, { ...record.message.headers, ...poison.headers });
    assert.deepEqual(bytes(record.message), bytes(poison));
    const { handler, error, attempts, firstFailedAt, lastFailedAt, fingerprint, reason } = record;
    assert.deepEqual(
      { handler, error: { ...error }, attempts, firstFailedAt, lastFailedAt, fingerprint, reason },
      sampleFailure(failedAt),
    );
    assert.equal(typeof record.deadLetteredAt, 'number');
    assert.deepEqual(await storage.list({ group: audit }), [], 'the other group has no dead letter');
    assert.deepEqual(await storage.get(record.id), record);
    assert.equal(await storage.get(`${record.id}-missing`), undefined);
    const depthOf = async (group: string): Promise<{ count: number; oldestAt: number } | undefined> =>
      (await storage.depth()).find((row) => row.group === group);
    assert.deepEqual(
      { ...(await depthOf(billing)) },
      { group: billing, count: 1, oldestAt: record.deadLetteredAt },
    );
    assert.equal(await depthOf(audit), undefined);

    assert.equal(await storage.replay(record.id), true);
    await eventually(() => billingSeen.filter((id) => id === poison.id).length === 2, {
      what: 'the replayed message in billing',
    });
    assert.equal(await storage.get(record.id), undefined, 'a replayed dead letter is removed');
    assert.equal(await storage.replay(record.id), false, 'a dead letter replays once');
    assert.equal(await depthOf(billing), undefined);

    await t.publish(doomed);
    await eventually(async () => (await listBilling()).length === 1, { what: 'the second dead letter' });
    const [second] = (await listBilling()) as [DeadLetterRecord];
    assert.equal(second.message.id, doomed.id);
    assert.equal(await storage.discard([second.id, `${second.id}-missing`]), 1);
    assert.deepEqual(await listBilling(), []);
    assert.equal(await depthOf(billing), undefined);
    await t.time.idle();
    assert.deepEqual(
      auditSeen.sort(),
      [poison.id, fine.id, doomed.id].sort(),
      'the replay reached another group',
    );
  },
};
