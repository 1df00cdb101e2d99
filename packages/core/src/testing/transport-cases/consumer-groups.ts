import assert from 'node:assert/strict';
import { eventually, gate, parcel, type TransportCase } from './harness.ts';

const TOTAL = 20;

/** Watermill's TestConsumerGroups, plus proof that members compete rather than each taking everything. */
export const consumerGroups: TransportCase = {
  name: 'fans out to every group and shares within a group',
  skipReason: (capabilities) =>
    capabilities.consumerGroups ? undefined : 'transport declares no consumer groups',
  async run(t) {
    const release = gate();
    const holding = [0, 0];
    const members = [new Set<string>(), new Set<string>()];
    const shipping = new Set<string>();
    for (const index of [0, 1]) {
      await t.consume({ group: 'billing', concurrency: 1 }, async (delivery) => {
        holding[index] = (holding[index] ?? 0) + 1;
        await release.opened;
        members[index]?.add(delivery.message.id);
        await delivery.ack();
      });
    }
    await t.consume({ group: 'shipping', concurrency: 4 }, async (delivery) => {
      shipping.add(delivery.message.id);
      await delivery.ack();
    });
    const sent = Array.from({ length: TOTAL }, (_, n) => parcel(n));
    await t.publish(...sent);
    // Each billing member takes one at a time, so the second message must go to the other member.
    await eventually(() => holding[0] === 1 && holding[1] === 1, {
      what: () => `both billing members busy (holding ${holding.join(' and ')})`,
    });
    release.open();
    const billing = (): Set<string> => new Set([...(members[0] ?? []), ...(members[1] ?? [])]);
    await eventually(() => billing().size === TOTAL && shipping.size === TOTAL, {
      what: () => `billing ${billing().size}, shipping ${shipping.size} of ${TOTAL}`,
    });
    await t.time.idle();
    const both = [...(members[0] ?? [])].filter((id) => members[1]?.has(id));
    if (t.capabilities.duplicates === 'only-after-failure') {
      assert.deepEqual(both, [], 'a message went to both members of one group');
    }
  },
};
