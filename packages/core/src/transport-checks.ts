import { invalidOptions, TidingsError } from './errors.ts';
import type { TransportMessage } from './transport.ts';

/**
 * Checks the arguments of `Transport.publish` before anything is written, so that a batch is refused
 * whole: every malformed message is listed at once. Adapters call it first thing in `publish`.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem, or `TIDINGS_UNSUPPORTED` for a
 *   body larger than `maxBytes`.
 * @example
 * publish(channel, messages) { checkPublish('myTransport', channel, messages, MAX_BYTES); … }
 */
export function checkPublish(
  transportName: string,
  channel: unknown,
  messages: unknown,
  maxBytes: number,
): asserts messages is readonly TransportMessage[] {
  const where = `${transportName}.publish`;
  const problems: string[] = [];
  if (typeof channel !== 'string' || channel.length === 0)
    problems.push('channel must be a non-empty string');
  if (!Array.isArray(messages)) throw invalidOptions(where, [...problems, 'messages must be an array']);
  for (let index = 0; index < messages.length; index += 1) {
    const message = messages[index] as Partial<TransportMessage> | null;
    const at = `messages[${index}]`;
    if (typeof message !== 'object' || message === null) {
      problems.push(`${at} must be an object`);
      continue;
    }
    if (typeof message.id !== 'string') problems.push(`${at}.id must be a string`);
    if (typeof message.topic !== 'string' || message.topic.length === 0)
      problems.push(`${at}.topic must be a non-empty string`);
    if (message.key !== undefined && typeof message.key !== 'string')
      problems.push(`${at}.key must be a string when given`);
    if (typeof message.headers !== 'object' || message.headers === null)
      problems.push(`${at}.headers must be an object`);
    if (!(message.body instanceof Uint8Array)) problems.push(`${at}.body must be a Uint8Array`);
  }
  if (problems.length > 0) throw invalidOptions(where, problems);
  for (const message of messages as TransportMessage[]) {
    if (message.body.byteLength > maxBytes) {
      throw new TidingsError(
        'TIDINGS_UNSUPPORTED',
        `Message ${message.id} has a ${message.body.byteLength}-byte body; ${transportName} accepts at most ` +
          `${maxBytes}. Store large payloads elsewhere and publish a reference.`,
        { details: { id: message.id, bytes: message.body.byteLength, max: maxBytes } },
      );
    }
  }
}
