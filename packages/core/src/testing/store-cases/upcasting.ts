import assert from 'node:assert/strict';
import { createEvent } from '../../envelope.ts';
import { isTidingsError } from '../../errors.ts';
import { deposit, rejection, type StoreCase } from './harness.ts';

/** Old versions are stored as they were and read as the latest; what cannot be read says where it is. */
export const upcasting: StoreCase = {
  name: 'stores events with their schema version and upcasts them on read through the catalog',
  async run(t) {
    const stream = t.stream('legacy');
    const after = await t.mark();
    await t.store.append(stream, [createEvent('FundsDeposited', 1, { amount: 12 }), deposit(3)]);
    const read = await t.store.readStream(stream);
    assert.deepEqual(
      read.events.map((e) => [e.version, e.data]),
      [
        [2, { amount: 12, currency: 'EUR' }],
        [2, { amount: 3, currency: 'EUR' }],
      ],
    );
    const all = (await t.readOwn(after)).filter((e) => e.stream === stream);
    assert.deepEqual(all[0]?.data, { amount: 12, currency: 'EUR' }, 'readAll upcasts too');
  },
};

/** A type the catalog does not know, or data that fails its schema: a typed error naming stream and position. */
export const unreadableEvents: StoreCase = {
  name: 'fails with a typed error naming the stream and position of an event it cannot read',
  async run(t) {
    const unknown = t.stream('unknown');
    await t.store.append(unknown, [deposit(1)]);
    const stored = await t.store.append(unknown, [createEvent('MysteryHappened', 1, { x: 1 })]);
    const error = await rejection(t.store.readStream(unknown), 'reading an unknown type');
    assert.ok(isTidingsError(error, 'TIDINGS_UNKNOWN_TYPE'), String(error));
    assert.match(error.message, new RegExp(`${unknown}.*${stored.position}|${stored.position}.*${unknown}`));
    assert.deepEqual(
      {
        stream: error.details?.stream,
        streamVersion: error.details?.streamVersion,
        position: error.details?.position,
      },
      { stream: unknown, streamVersion: 2, position: stored.position },
    );
    // The events before it are still readable on their own.
    assert.equal((await t.store.readStream(unknown, { until: { version: 1 } })).events.length, 1);

    const invalid = t.stream('invalid');
    const bad = await t.store.append(invalid, [createEvent('FundsWithdrawn', 1, { amount: 'lots' })]);
    const schemaError = await rejection(t.store.readStream(invalid), 'reading data that fails its schema');
    assert.ok(isTidingsError(schemaError, 'TIDINGS_SCHEMA_INVALID'), String(schemaError));
    assert.equal(schemaError.details?.position, bad.position);
    assert.equal(schemaError.details?.stream, invalid);
    const newer = t.stream('newer');
    await t.store.append(newer, [createEvent('FundsWithdrawn', 7, { amount: 1 })]);
    const versionError = await rejection(t.store.readStream(newer), 'reading a version newer than the code');
    assert.ok(isTidingsError(versionError, 'TIDINGS_VERSION_UNSUPPORTED'), String(versionError));
  },
};
