import { expectInvalidDeadLetter } from './bus-invalid-messages.ts';
import type { TransportCase } from './harness.ts';

/** A type the consumer's catalog does not know (a producer deployed first) is dead-lettered, not guessed at. */
export const busUnknownType: TransportCase = {
  name: 'bus: dead-letters a message of an unknown type as invalid',
  async run(t) {
    await expectInvalidDeadLetter(
      t,
      (valid) => ({ ...valid, headers: { ...valid.headers, 'ce-type': 'ParcelVanished' } }),
      'TIDINGS_UNKNOWN_TYPE',
    );
  },
};
