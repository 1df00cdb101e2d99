import assert from 'node:assert/strict';
import type { DeadLetter } from '../../dead-letters.ts';
import { eventually, gate, ParcelScanned, type TransportCase } from './harness.ts';

const MAX_DELIVERIES = 3;

/** The anchors' C23 (rabbitmq-server #10300): poison that kills its consumer every time is quarantined. */
export const busCrashLoop: TransportCase = {
  name: 'bus: quarantines a message that keeps killing its consumer',
  skipReason: (capabilities) =>
    capabilities.deliveryCounter ? undefined : 'transport declares no delivery counter that survives a crash',
  async run(t) {
    const bus = t.bus({ retry: false });
    const group = t.unique('fragile');
    const stuck = gate();
    let runs = 0;
    const subscribe = () =>
      bus.subscribe({
        group,
        events: [ParcelScanned],
        maxDeliveries: MAX_DELIVERIES,
        handler: async () => {
          runs += 1;
          // As good as a crash: the handler never comes back, and its consumer goes away below.
          await stuck.opened;
        },
      });
    for (let crash = 1; crash <= MAX_DELIVERIES; crash += 1) {
      const subscription = await subscribe();
      if (crash === 1) await bus.publish(ParcelScanned.create({ n: 1 }, { subject: 'poison' }));
      await eventually(() => runs === crash, { what: `run ${crash} of the poison message` });
      await subscription.close({ timeoutMs: 0 });
    }
    await subscribe();
    const quarantined = async (): Promise<readonly DeadLetter[]> =>
      (await bus.deadLetters.list({ group })).filter((d) => d.reason === 'crash-loop');
    await eventually(async () => (await quarantined()).length === 1, { what: 'the crash-loop dead letter' });
    assert.equal(runs, MAX_DELIVERIES, 'the handler ran again after the limit');
    const [deadLetter] = (await quarantined()) as [DeadLetter];
    assert.equal(deadLetter.error.code, 'TIDINGS_HANDLER_FAILED');
    // The crashed runs finally return: their settlements come too late to change anything.
    stuck.open();
    await t.time.idle();
    assert.equal(runs, MAX_DELIVERIES);
    assert.equal((await bus.deadLetters.list({ group })).length, 1);
  },
};
