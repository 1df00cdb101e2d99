import assert from 'node:assert/strict';
import { toTransportMessage } from '../../message.ts';
import type { TransportMessage } from '../../transport.ts';
import { bytes, eventually, ParcelScanned, type TransportCase } from './harness.ts';

const MIB = 1024 * 1024;
// Characters JSON writes as themselves, so the body size is known in advance.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 1 MiB body arrives whole. */
export const largePayload: TransportCase = {
  name: 'carries a 1 MB payload',
  skipReason: (capabilities) =>
    capabilities.maxMessageBytes >= MIB
      ? undefined
      : `transport accepts at most ${capabilities.maxMessageBytes} bytes`,
  async run(t) {
    // {"n":1,"note":"…"} is 17 bytes around the note: the body is exactly 1 MiB.
    const note = ALPHABET.repeat(Math.ceil(MIB / ALPHABET.length)).slice(0, MIB - 17);
    const sent = toTransportMessage(ParcelScanned.create({ n: 1, note }));
    assert.equal(sent.body.byteLength, MIB);
    const received: TransportMessage[] = [];
    await t.consume({ group: 'heavy-lifters' }, async (delivery) => {
      received.push(delivery.message);
      await delivery.ack();
    });
    await t.publish(sent);
    await eventually(() => received.length === 1, { what: 'the 1 MiB delivery' });
    assert.ok(bytes(received[0] as TransportMessage).equals(bytes(sent)), 'the body changed on the way');
  },
};
