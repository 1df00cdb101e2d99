import assert from 'node:assert/strict';
import { defineParcelEvent, eventually, parcel, type TransportCase } from './harness.ts';

const TOPICS = 10;
const EACH = 20;

/** Watermill's TestConcurrentSubscribeMultipleTopics and TestTopic: topics never leak into each other. */
export const manyTopics: TransportCase = {
  name: 'keeps many topics apart under concurrency',
  async run(t) {
    const definitions = Array.from({ length: TOPICS }, (_, i) => defineParcelEvent(`Shelf${i}Stocked`));
    const perTopic = definitions.map(() => new Map<string, string>());
    const everything = new Set<string>();
    await Promise.all(
      definitions.map((definition, i) =>
        t.consume({ group: `shelf-${i}`, topics: [definition.type] }, async (delivery) => {
          perTopic[i]?.set(delivery.message.id, delivery.message.topic);
          await delivery.ack();
        }),
      ),
    );
    await t.consume(
      { group: 'all-shelves', topics: definitions.map((d) => d.type), concurrency: 8 },
      async (d) => {
        everything.add(d.message.id);
        await d.ack();
      },
    );

    const sent = definitions.map((definition) =>
      Array.from({ length: EACH }, (_, n) => parcel(n, { definition, subject: `s-${n % 3}` })),
    );
    await Promise.all(sent.map((messages) => t.publish(...messages)));
    await eventually(() => everything.size === TOPICS * EACH && perTopic.every((got) => got.size >= EACH), {
      what: () =>
        `${everything.size} of ${TOPICS * EACH} in all-shelves; per topic ${perTopic.map((g) => g.size).join(',')}`,
    });
    await t.time.idle();

    for (const [i, definition] of definitions.entries()) {
      const got = perTopic[i] ?? new Map<string, string>();
      assert.deepEqual([...got.keys()].sort(), sent[i]?.map((m) => m.id).sort(), `group shelf-${i}`);
      for (const topic of got.values()) assert.equal(topic, definition.type);
    }
  },
};
