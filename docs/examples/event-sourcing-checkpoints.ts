import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCatalog, defineEvent, type EventStore, subscribeToAll } from '@tidings/core';
import { sqliteEventStore } from '@tidings/sqlite';
import { z } from 'zod';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 1,
  schema: z.object({ orderId: z.string(), total: z.number() }),
});
const catalog = createCatalog({ events: [OrderPlaced] });
const dir = mkdtempSync(join(tmpdir(), 'tidings-docs-'));
const file = join(dir, 'shop.db');

// No checkpoint store to pass: the subscription keeps its place in store.checkpoints, a table of shop.db.
const emailed: string[] = [];
const startEmails = (store: EventStore) =>
  subscribeToAll(store, {
    name: 'order-emails',
    pollIntervalMs: 100,
    handler: (event) => void emailed.push((event.data as { orderId: string }).orderId),
  });

let store = sqliteEventStore({ file, catalog });
const first = await store.append('order-1', [OrderPlaced.create({ orderId: '1', total: 10 })]);
let emails = startEmails(store);
await emails.waitFor(first.position);
await emails.close();
await store.close(); // the process stops here...

// ...and starts again later: the subscription goes on after order 1, which it does not email twice.
store = sqliteEventStore({ file, catalog });
assert.equal(await store.checkpoints.load('order-emails'), first.position);
const second = await store.append('order-2', [OrderPlaced.create({ orderId: '2', total: 5 })]);
emails = startEmails(store);
await emails.waitFor(second.position);
await emails.close();
assert.deepEqual(emailed, ['1', '2']);

// The streams, by name, a page at a time.
const { streams, next } = await store.listStreams({ prefix: 'order-', limit: 50 });
assert.deepEqual(
  streams.map((stream) => [stream.stream, stream.version]),
  [
    ['order-1', 1],
    ['order-2', 1],
  ],
);
assert.equal(next, undefined); // no second page

// To handle the whole history again (a new email template, say): stop the subscription, then reset.
await store.checkpoints.reset('order-emails');
await store.close();
rmSync(dir, { recursive: true, force: true });
