import assert from 'node:assert/strict';
import { fromTransportMessage, toTransportMessage } from '../../message.ts';
import type { TransportMessage } from '../../transport.ts';
import { bytes, eventually, ParcelScanned, type TransportCase } from './harness.ts';

/** NServiceBus's unicode-header test and the CloudEvents mapping: header values come back byte for byte. */
export const headerFidelity: TransportCase = {
  name: 'keeps unicode, binary and 64 KB header values intact',
  async run(t) {
    const event = ParcelScanned.create(
      { n: 1, note: 'Grüße aus Zürich — 東京 ✓' },
      {
        subject: 'Zürich/東京 ✓',
        extensions: {
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          tenant: 'ünïcødé',
        },
      },
    );
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');
    const large = Array.from({ length: 64 * 1024 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join(
      '',
    );
    const base = toTransportMessage(event);
    const sent: TransportMessage = {
      ...base,
      headers: { ...base.headers, 'x-unicode': 'Grüße, 世界 — ∑ 🎉', 'x-binary': binary, 'x-large': large },
    };
    const received: TransportMessage[] = [];
    await t.consume({ group: 'header-readers' }, async (delivery) => {
      received.push(delivery.message);
      await delivery.ack();
    });
    await t.publish(sent);
    await eventually(() => received.length === 1, { what: 'the delivery' });

    const [message] = received as [TransportMessage];
    for (const [name, value] of Object.entries(sent.headers)) {
      assert.equal(message.headers[name], value, `header ${name}`);
    }
    assert.equal(message.key, event.subject);
    assert.deepEqual(bytes(message), bytes(sent));
    assert.deepEqual(fromTransportMessage(message), event);
  },
};
