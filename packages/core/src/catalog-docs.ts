import type { Catalog, CatalogEntry } from './catalog.ts';

/** Options of {@link catalogToAsyncApi}. */
export interface AsyncApiOptions {
  /** `info.title` (default: the catalog's title). */
  title?: string;
  /** `info.version`, the version of the API this document describes (default `1.0.0`). */
  version?: string;
}

/**
 * Renders a catalog as a Markdown document: a summary table, the lint findings, and one section per
 * event type with its versions, producers, consumers and current JSON Schema.
 *
 * @example
 * await writeFile('docs/events.md', catalogToMarkdown(catalog));
 */
export function catalogToMarkdown(catalog: Catalog): string {
  const entries = catalog.entries();
  const findings = catalog.lint();
  const lines: string[] = [`# ${catalog.title}`, ''];

  lines.push('## Summary', '');
  if (entries.length === 0) {
    lines.push('_The catalog declares no event types._', '');
  } else {
    lines.push('| Type | Version | Producers | Consumers |', '| --- | --- | --- | --- |');
    for (const entry of entries) {
      const cells = [
        `[${cell(entry.type)}](#${anchor(entry.type)})`,
        String(entry.version),
        cell(names(entry.producers)),
        cell(names(entry.consumers)),
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  }

  lines.push('## Lint findings', '');
  if (findings.length === 0) {
    lines.push('No findings.', '');
  } else {
    for (const finding of findings) {
      lines.push(`- **${finding.rule}** \`${finding.type}\`: ${finding.message}`);
    }
    lines.push('');
  }

  if (entries.length > 0) lines.push('## Events', '');
  for (const entry of entries) {
    lines.push(`### ${entry.type}`, '');
    if (entry.description !== undefined && entry.description !== '') lines.push(entry.description, '');
    lines.push(
      `- **Version:** ${entry.version}`,
      `- **Readable versions:** ${entry.versions.join(', ')}`,
      `- **Producers:** ${names(entry.producers)}`,
      `- **Consumers:** ${names(entry.consumers)}`,
      '',
    );
    const schema = catalog.get(entry.type)?.jsonSchema();
    if (schema === undefined) {
      lines.push(
        '_No JSON Schema: the schema library does not export one. Pass `jsonSchema` to `defineEvent` to publish it._',
        '',
      );
    } else {
      lines.push(
        `JSON Schema of version ${entry.version}:`,
        '',
        '```json',
        JSON.stringify(schema, null, 2),
        '```',
        '',
      );
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * Describes a catalog as an AsyncAPI 3.0.0 document: a channel per event type (its address is the
 * type), a message per type whose payload is the current JSON Schema, and a `send` operation for each
 * producer and a `receive` operation for each consumer.
 *
 * @example
 * const doc = catalogToAsyncApi(catalog, { title: 'Shop events', version: '2.1.0' });
 * await writeFile('asyncapi.json', JSON.stringify(doc, null, 2));
 */
export function catalogToAsyncApi(catalog: Catalog, options: AsyncApiOptions = {}): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const entry of catalog.entries()) {
    const channelRef = `#/channels/${pointer(entry.type)}`;
    const messageRef = `${channelRef}/messages/${pointer(entry.type)}`;
    channels[entry.type] = {
      address: entry.type,
      title: entry.type,
      ...(entry.description === undefined ? {} : { description: entry.description }),
      messages: { [entry.type]: { $ref: `#/components/messages/${pointer(entry.type)}` } },
    };
    messages[entry.type] = message(entry, catalog.get(entry.type)?.jsonSchema());
    const roles = [
      ['send', entry.producers, 'publishes'],
      ['receive', entry.consumers, 'consumes'],
    ] as const;
    for (const [action, components, verb] of roles) {
      for (const component of components) {
        operations[`${component}.${action}.${entry.type}`] = {
          action,
          channel: { $ref: channelRef },
          summary: `${component} ${verb} ${entry.type}`,
          tags: [{ name: component }],
          messages: [{ $ref: messageRef }],
        };
      }
    }
  }

  return {
    asyncapi: '3.0.0',
    info: { title: options.title ?? catalog.title, version: options.version ?? '1.0.0' },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  };
}

function message(entry: CatalogEntry, schema: Record<string, unknown> | undefined): Record<string, unknown> {
  return {
    name: entry.type,
    title: `${entry.type} v${entry.version}`,
    summary: entry.description ?? `${entry.type}, version ${entry.version}`,
    contentType: 'application/json',
    // A payload is optional in AsyncAPI; leaving it out says "unknown shape" rather than inventing one.
    ...(schema === undefined ? {} : { payload: schema }),
    'x-tidings-version': entry.version,
    'x-tidings-versions': [...entry.versions],
  };
}

const names = (list: readonly string[]): string => (list.length === 0 ? '—' : list.join(', '));

// A pipe or a line break would end a table cell early.
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

// GitHub's heading anchors: lower case, punctuation other than "-" and "_" dropped, spaces as "-".
const anchor = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

// JSON Pointer escaping (RFC 6901), for `$ref`s to keys that contain "~" or "/".
const pointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
