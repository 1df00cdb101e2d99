import assert from 'node:assert/strict';
import type { GlobalPosition, RecordedEvent } from '../../event-store/types.ts';
import { deposit, seededRandom, type StoreCase } from './harness.ts';

const WRITERS = 12;
const APPENDS = 15;

/**
 * Many writers append at once while readers follow `readAll` from their checkpoints: every reader must
 * see exactly the final log, in the same order, with nothing skipped or repeated.
 */
export const globalOrder: StoreCase = {
  name: 'keeps one global order under concurrent writers: a reader never skips or repeats an event',
  async run(t) {
    const after = await t.mark();
    const random = seededRandom(0xc0ffee);
    const mine = (e: RecordedEvent): boolean => e.stream.startsWith(t.stream(''));
    let writing = true;
    const follow = async (pageSize: number): Promise<RecordedEvent[]> => {
      const seen: RecordedEvent[] = [];
      let checkpoint: GlobalPosition = after;
      for (let polls = 0; polls < 100_000; polls += 1) {
        const done = !writing;
        const page = await t.store.readAll({ after: checkpoint, limit: pageSize });
        assert.ok(page.position >= checkpoint, 'the checkpoint never moves back');
        seen.push(...page.events.filter(mine));
        checkpoint = page.position;
        if (done && page.caughtUp) return seen;
        if (page.events.length === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      throw new Error('the reader never caught up');
    };
    const readers = [follow(7), follow(50)];
    const results: { stream: string; position: GlobalPosition; streamVersion: number }[] = [];
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < APPENDS; i += 1) {
          const stream = t.stream(`writer-${w}-${Math.floor(random() * 3)}`);
          const count = 1 + Math.floor(random() * 4);
          const result = await t.store.append(
            stream,
            Array.from({ length: count }, () => deposit(w)),
          );
          results.push({ stream, ...result });
          if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    writing = false;
    const [small, large] = await Promise.all(readers);
    const final = await t.readOwn(after, 1_000);

    const ids = final.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'readAll holds no event twice');
    for (let i = 1; i < final.length; i += 1) {
      assert.ok(
        (final[i - 1] as RecordedEvent).position < (final[i] as RecordedEvent).position,
        'positions strictly grow',
      );
    }
    assert.deepEqual(
      small?.map((e) => e.id),
      ids,
      'a reader with small pages saw exactly the log',
    );
    assert.deepEqual(
      large?.map((e) => e.id),
      ids,
      'a reader with large pages saw exactly the log',
    );
    const byPosition = new Map(final.map((e) => [e.position, e]));
    for (const result of results) {
      const last = byPosition.get(result.position);
      assert.equal(last?.stream, result.stream, 'an append returns the position of its last event');
      assert.equal(last?.streamVersion, result.streamVersion);
    }
    // Within each stream, global order follows stream order, with no gap in versions.
    const versions = new Map<string, number>();
    for (const event of final) {
      const expected = (versions.get(event.stream) ?? 0) + 1;
      assert.equal(event.streamVersion, expected, `${event.stream} in order`);
      versions.set(event.stream, expected);
    }
  },
};
