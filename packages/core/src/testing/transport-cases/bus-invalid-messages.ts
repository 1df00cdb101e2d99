import assert from 'node:assert/strict';
import type { DeadLetter } from '../../dead-letters.ts';
import type { TransportMessage } from '../../transport.ts';
import { type CaseContext, eventually, ParcelScanned, parcel } from './harness.ts';

/**
 * Writes a broken message straight into the transport, then a valid event, and checks that the broken
 * one became an `invalid` dead letter with `code` while the consumer went on to handle the valid one.
 * Shared by the malformed, unknown-type and schema-failure cases.
 */
export async function expectInvalidDeadLetter(
  t: CaseContext,
  broken: (valid: TransportMessage) => TransportMessage,
  code: string,
): Promise<DeadLetter> {
  const bus = t.bus({ retry: { immediate: 2, minDelayMs: 5, maxDelayMs: 5, delays: [], jitter: 0 } });
  const group = t.unique('strict');
  const handled: number[] = [];
  await bus.subscribe({
    group,
    events: [ParcelScanned],
    handler: (event) => {
      handled.push(event.data.n);
    },
  });
  const message = broken(parcel(1, { subject: 'broken' }));
  await t.publish(message);
  await bus.publish(ParcelScanned.create({ n: 2 }));
  await eventually(async () => (await bus.deadLetters.list({ group })).length === 1 && handled.length === 1, {
    what: 'one invalid dead letter and one handled event',
  });
  const [deadLetter] = (await bus.deadLetters.list({ group })) as [DeadLetter];
  assert.equal(deadLetter.reason, 'invalid');
  assert.equal(deadLetter.error.code, code);
  assert.equal(deadLetter.attempts, 0, 'an invalid message reached a handler, or was retried');
  assert.equal(deadLetter.message.id, message.id);
  assert.deepEqual(handled, [2]);
  return deadLetter;
}

/** Body bytes from text. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
