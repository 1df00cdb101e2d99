import assert from 'node:assert/strict';
import { expectInvalidDeadLetter, utf8 } from './bus-invalid-messages.ts';
import type { TransportCase } from './harness.ts';

/** Data that breaks its schema never reaches a handler, and is kept for the producer's owners to see. */
export const busSchemaFailure: TransportCase = {
  name: 'bus: dead-letters data that fails its schema as invalid',
  async run(t) {
    const deadLetter = await expectInvalidDeadLetter(
      t,
      (valid) => ({ ...valid, body: utf8('{"n":"seven"}') }),
      'TIDINGS_SCHEMA_INVALID',
    );
    assert.deepEqual(deadLetter.event?.data, { n: 'seven' }, 'the raw data is kept for inspection');
  },
};
