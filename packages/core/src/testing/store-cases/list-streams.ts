import assert from 'node:assert/strict';
import { isTidingsError } from '../../errors.ts';
import type { ListedStream, ListStreamsOptions } from '../../event-store/types.ts';
import { deposit, rejection, type StoreCase, type StoreCaseContext } from './harness.ts';

/** Every page of a listing, followed through `next`; bounded, so a store whose `next` never ends fails. */
async function listAll(t: StoreCaseContext, options: ListStreamsOptions): Promise<ListedStream[][]> {
  const pages: ListedStream[][] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i += 1) {
    const page = await t.store.listStreams({ ...options, after });
    pages.push([...page.streams]);
    if (page.next === undefined) return pages;
    assert.equal(page.next, page.streams[page.streams.length - 1]?.stream, 'next is the last name listed');
    after = page.next;
  }
  throw new Error('listStreams kept returning next after 100 pages');
}

/** Streams are listed by name in code point order, page by page, with their metadata and flags. */
export const listStreams: StoreCase = {
  name: 'lists streams by name in code point order, in pages, by prefix, with their metadata',
  async run(t) {
    const prefix = t.stream('');
    const after = await t.mark();
    // Code point order: 'B' before 'a', 'a-10' before 'a-2', U+FFFD before the emoji (not so in UTF-16).
    const written = ['a-2', 'b', 'a-10', '\u{1F600}', 'B', 'a-1', '\uFFFD', 'é'];
    for (const [index, name] of written.entries()) {
      await t.store.append(t.stream(name), [deposit(index + 1)]);
      await t.tick();
    }
    await t.store.append(t.stream('b'), [deposit(9)]);
    await t.store.deleteStream(t.stream('a-2'));
    await t.store.deleteStream(t.stream('b'), { tombstone: true });
    await t.store.deleteStream(t.stream('never-written'), { tombstone: true });
    await t.store.deleteStream(t.stream('never-mind')); // a soft delete of nothing leaves nothing to list
    const expected = ['B', 'a-1', 'a-10', 'a-2', 'b', 'marker', 'never-written', 'é', '\uFFFD', '\u{1F600}'];

    const pages = await listAll(t, { prefix, limit: 3 });
    assert.deepEqual(
      pages.map((page) => page.length),
      [3, 3, 3, 1],
    );
    const listed = pages.flat();
    assert.deepEqual(
      listed.map((stream) => stream.stream),
      expected.map((name) => t.stream(name)),
    );
    const lastRecorded = new Map((await t.readOwn(after)).map((event) => [event.stream, event.recordedAt]));
    for (const stream of listed) {
      if (stream.stream === t.stream('marker')) continue;
      assert.deepEqual(
        stream,
        {
          ...(await t.store.getStreamMetadata(stream.stream)),
          lastRecordedAt: lastRecorded.get(stream.stream),
        },
        `the listing of ${stream.stream}`,
      );
    }
    const byName = new Map(listed.map((stream) => [stream.stream.slice(prefix.length), stream]));
    assert.deepEqual(
      [byName.get('a-2')?.deleted, byName.get('b')?.tombstoned, byName.get('b')?.version],
      [true, true, 2],
    );
    assert.deepEqual(
      { ...byName.get('never-written') },
      {
        stream: t.stream('never-written'),
        version: 0,
        truncateBefore: 1,
        deleted: false,
        tombstoned: true,
        lastRecordedAt: undefined,
      },
    );

    const narrow = await t.store.listStreams({ prefix: t.stream('a-'), limit: 3 });
    assert.deepEqual(
      narrow.streams.map((stream) => stream.stream),
      ['a-1', 'a-10', 'a-2'].map((name) => t.stream(name)),
    );
    assert.equal(narrow.next, undefined, 'a page that holds the last stream has no next');
    const resumed = await t.store.listStreams({ prefix, after: t.stream('a-10'), limit: 2 });
    assert.deepEqual(
      resumed.streams.map((stream) => stream.stream),
      [t.stream('a-2'), t.stream('b')],
    );
    assert.deepEqual(await t.store.listStreams({ prefix: t.stream('zz') }), { streams: [] });

    for (const bad of [{ limit: 0 }, { limit: 1.5 }, { after: 3 }, { prefix: null }]) {
      const error = await rejection(
        t.store.listStreams(bad as ListStreamsOptions),
        `listStreams(${JSON.stringify(bad)})`,
      );
      assert.ok(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS'), String(error));
    }
  },
};
