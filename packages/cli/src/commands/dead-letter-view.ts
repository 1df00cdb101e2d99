import type { DeadLetter, FailureGroup } from '@tidings/core';
import type { Colors } from '../io.ts';
import { formatAge, formatTime } from '../time.ts';

/** How many characters of an id the tables show: the end, the random part of a UUIDv7. */
export const SHORT_ID_LENGTH = 8;

/**
 * The short form of a dead letter id the tables show. Its last characters, because the first ones of
 * a UUIDv7 are a timestamp that letters of one incident share.
 */
export const shortId = (id: string): string =>
  id.length <= SHORT_ID_LENGTH ? id : id.slice(-SHORT_ID_LENGTH);

/** `Name: message`, the first line only, cut to `width` characters. */
export function errorSummary(error: { readonly name: string; readonly message: string }, width = 60): string {
  const firstLine = error.message.split('\n', 1)[0] ?? '';
  return truncate(error.name === '' ? firstLine : `${error.name}: ${firstLine}`, width);
}

const truncate = (text: string, width: number): string =>
  text.length <= width ? text : `${text.slice(0, width - 1)}…`;

/** A dead letter as plain JSON for scripts: times in ISO 8601, the body as text (or base64). */
export function deadLetterJson(deadLetter: DeadLetter): Record<string, unknown> {
  const { message } = deadLetter;
  return {
    id: deadLetter.id,
    channel: deadLetter.channel,
    group: deadLetter.group,
    handler: deadLetter.handler,
    type: deadLetter.type,
    reason: deadLetter.reason,
    attempts: deadLetter.attempts,
    firstFailedAt: formatTime(deadLetter.firstFailedAt),
    lastFailedAt: formatTime(deadLetter.lastFailedAt),
    deadLetteredAt: formatTime(deadLetter.deadLetteredAt),
    fingerprint: deadLetter.fingerprint,
    error: deadLetter.error,
    event: deadLetter.event ?? null,
    message: {
      id: message.id,
      topic: message.topic,
      key: message.key ?? null,
      headers: message.headers,
      ...body(message.body),
    },
  };
}

/** A failure group as plain JSON for scripts. */
export function failureGroupJson(group: FailureGroup): Record<string, unknown> {
  return { ...group, firstAt: formatTime(group.firstAt), lastAt: formatTime(group.lastAt) };
}

function body(bytes: Uint8Array): { body: string } | { bodyBase64: string } {
  try {
    return { body: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { bodyBase64: Buffer.from(bytes).toString('base64') };
  }
}

/**
 * Everything about one dead letter, as the lines `tidings dead-letters show` prints: the failure, the
 * error with its stack, the event's attributes and data, and the message headers.
 */
export function describeDeadLetter(deadLetter: DeadLetter, colors: Colors, now: number): string[] {
  const label = (text: string): string => colors.dim(text.padEnd(15));
  const field = (name: string, value: string): string => `${label(name)}${value}`;
  const at = (ms: number): string => `${formatTime(ms)} ${colors.dim(`(${formatAge(now - ms)} ago)`)}`;
  const heading = (text: string): string => colors.bold(text);
  const { error, event, message } = deadLetter;

  const lines = [
    `${heading('Dead letter')} ${deadLetter.id}`,
    field('Reason', colors.yellow(deadLetter.reason)),
    field('Group', deadLetter.group),
    field('Handler', deadLetter.handler),
    field('Type', deadLetter.type),
    field('Channel', deadLetter.channel),
    field('Attempts', String(deadLetter.attempts)),
    field('First failure', at(deadLetter.firstFailedAt)),
    field('Last failure', at(deadLetter.lastFailedAt)),
    field('Dead-lettered', at(deadLetter.deadLetteredAt)),
    field('Fingerprint', deadLetter.fingerprint),
    '',
    heading('Error'),
  ];
  const title = `${error.name}: ${error.message}`;
  // A stack usually starts with "Name: message" already; print that line once.
  if (error.stack === undefined) lines.push(colors.red(title));
  else if (error.stack.startsWith(title))
    lines.push(colors.red(title), error.stack.slice(title.length).replace(/^\n/, ''));
  else lines.push(colors.red(title), error.stack);
  if (error.code !== undefined) lines.push(field('Code', error.code));

  lines.push('');
  if (event === undefined) {
    lines.push(
      heading('Message'),
      colors.yellow('The message is not a readable event; its body as received:'),
    );
    const raw = body(message.body);
    lines.push('body' in raw ? raw.body : `(base64) ${raw.bodyBase64}`);
  } else {
    lines.push(
      heading('Event'),
      field('id', event.id),
      field('type', event.type),
      field('version', String(event.version)),
      field('source', event.source),
      field('time', event.time),
      field('subject', event.subject ?? '-'),
      field('correlationId', event.correlationId),
      field('causationId', event.causationId ?? '-'),
    );
    for (const [name, value] of Object.entries(event.extensions ?? {})) lines.push(field(name, value));
    lines.push('', heading('Data'), JSON.stringify(event.data, null, 2) ?? 'undefined');
  }

  lines.push('', heading('Headers'));
  const headers = Object.entries(message.headers).sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(15, ...headers.map(([name]) => name.length + 2));
  for (const [name, value] of headers) lines.push(`${colors.dim(name.padEnd(width))}${value}`);
  if (headers.length === 0) lines.push(colors.dim('(none)'));
  return lines;
}
