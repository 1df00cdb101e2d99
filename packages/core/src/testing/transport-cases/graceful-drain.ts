import assert from 'node:assert/strict';
import { eventually, type Gate, gate, parcel, type TransportCase } from './harness.ts';

/** NServiceBus's When_stopping and Watermill #437: a clean stop finishes its work and leaves nothing behind. */
export const gracefulDrain: TransportCase = {
  name: 'drains on close: waits for work in flight, takes no more, redelivers nothing after',
  async run(t) {
    const gates = new Map<string, Gate>();
    const acked = new Set<string>();
    const consumer = await t.consume({ group: 'drainer', concurrency: 3 }, async (delivery) => {
      const held = gate();
      gates.set(delivery.message.id, held);
      await held.opened;
      await delivery.ack();
      acked.add(delivery.message.id);
    });
    const before = [parcel(1), parcel(2), parcel(3)];
    await t.publish(...before);
    await eventually(() => gates.size === 3, { what: () => `3 deliveries in flight (have ${gates.size})` });

    let closed = false;
    const closing = consumer.close({ timeoutMs: t.time.pick(60_000, 10_000) }).then(() => {
      closed = true;
    });
    const after = [parcel(4), parcel(5)];
    await t.publish(...after);
    // Two handlers finish, one goes on: the consumer now has room, but it is closing and must not use it.
    const [first, second, last] = before.map((m) => gates.get(m.id)) as [Gate, Gate, Gate];
    first.open();
    second.open();
    await eventually(() => acked.size === 2, { what: 'two handlers to finish during close' });
    await t.time.idle();
    assert.equal(gates.size, 3, 'a closing consumer took new work');
    assert.equal(closed, false, 'close returned while a handler was still running');

    last.open();
    await closing;
    assert.deepEqual([...acked].sort(), before.map((m) => m.id).sort(), 'close returned before the acks');
    await consumer.close();

    const next = new Set<string>();
    await t.consume({ group: 'drainer', concurrency: 3 }, async (delivery) => {
      next.add(delivery.message.id);
      await delivery.ack();
    });
    await eventually(() => after.every((m) => next.has(m.id)), {
      what: 'the messages published during close',
    });
    await t.time.idle();
    assert.deepEqual([...next].sort(), after.map((m) => m.id).sort(), 'work finished before close came back');
  },
};
