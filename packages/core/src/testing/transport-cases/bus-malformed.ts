import assert from 'node:assert/strict';
import { expectInvalidDeadLetter, utf8 } from './bus-invalid-messages.ts';
import type { TransportCase } from './harness.ts';

/** Bad input never crashes a consumer: a message that is not an event becomes a dead letter. */
export const busMalformed: TransportCase = {
  name: 'bus: dead-letters a malformed message as invalid, and keeps consuming',
  async run(t) {
    const deadLetter = await expectInvalidDeadLetter(
      t,
      (valid) => ({ ...valid, body: utf8('{"n": 1,') }),
      'TIDINGS_MALFORMED',
    );
    assert.equal(deadLetter.event, undefined, 'a malformed message cannot be read as an event');
  },
};
