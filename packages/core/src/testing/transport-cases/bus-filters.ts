import assert from 'node:assert/strict';
import { eventually, ParcelLost, ParcelScanned, type TransportCase } from './harness.ts';

/** Patterns choose topics, content filters choose events; what does not match is acked without a handler run. */
export const busFilters: TransportCase = {
  name: 'bus: delivers by wildcard pattern and content filter, acking the rest unhandled',
  async run(t) {
    const bus = t.bus();
    const filtered = t.unique('eu-large');
    const lost = t.unique('lost-only');
    const handled: string[] = [];
    const lostHandled: string[] = [];
    await bus.subscribe({
      group: filtered,
      patterns: ['Parcel*'],
      filter: { subject: { prefix: 'eu-' }, data: { n: { numeric: { gte: 5 } } } },
      handler: (event) => {
        handled.push(`${event.type}:${event.data.n}`);
      },
    });
    await bus.subscribe({
      group: lost,
      patterns: ['*Lost'],
      handler: (event) => {
        lostHandled.push(`${event.type}:${event.data.n}`);
      },
    });
    const events = [
      ...Array.from({ length: 8 }, (_, i) =>
        ParcelScanned.create({ n: i + 1 }, { subject: i % 2 === 0 ? `eu-${i}` : `us-${i}` }),
      ),
      ParcelLost.create({ n: 6 }, { subject: 'eu-lost' }),
      ParcelLost.create({ n: 2 }, { subject: 'eu-lost' }),
    ];
    await bus.publish(events);
    const settled = (group: string): number =>
      t.ledger.deliveries({ group }).filter((d) => d.settled?.kind === 'ack').length;
    await eventually(() => settled(filtered) === events.length && settled(lost) === 2, {
      what: () => `${settled(filtered)} of ${events.length} and ${settled(lost)} of 2 acked`,
    });
    assert.deepEqual(handled.sort(), ['ParcelLost:6', 'ParcelScanned:5', 'ParcelScanned:7']);
    assert.deepEqual(lostHandled.sort(), ['ParcelLost:2', 'ParcelLost:6']);
    assert.deepEqual(
      t.ledger.deliveries({ group: lost }).map((d) => d.topic),
      [ParcelLost.type, ParcelLost.type],
      'a pattern subscription received a topic it does not match',
    );
  },
};
