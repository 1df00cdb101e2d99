import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { type Catalog, type CatalogEntry, catalogToAsyncApi, catalogToMarkdown } from '@tidings/core';
import { type Command, Option } from 'commander';
import type { CommandContext } from '../context.ts';
import { usageError } from '../errors.ts';
import { formatTable } from '../io.ts';

/** The formats `tidings catalog export` writes. */
export const EXPORT_FORMATS = ['markdown', 'asyncapi', 'json'] as const;

/** Adds `tidings catalog list | show | lint | export` to `program`. @internal */
export function registerCatalogCommands(program: Command, context: CommandContext): void {
  const { colors, print } = context;
  const group = program
    .command('catalog')
    .description('list, show, lint and export the event catalog')
    .addHelpText('after', '\nThe catalog comes from --catalog <module> or tidings.config.js.');

  group
    .command('list')
    .description('list every event type with its versions, producers and consumers')
    .option('--json', 'print the entries as JSON')
    .action(async (options: { json?: boolean }) => {
      const { catalog } = await context.config();
      const entries = catalog.entries();
      if (options.json === true) return print(json(entries));
      if (entries.length === 0) return print('The catalog declares no event types.');
      const rows = entries.map((entry) => [
        entry.type,
        String(entry.version),
        entry.versions.join(', '),
        names(entry.producers),
        names(entry.consumers),
      ]);
      print(formatTable(['TYPE', 'VERSION', 'VERSIONS', 'PRODUCERS', 'CONSUMERS'], rows, colors.bold));
    });

  group
    .command('show')
    .description('show one event type with its JSON Schema')
    .argument('<type>', 'the event type, e.g. OrderPlaced')
    .option('--json', 'print the entry and its JSON Schema as JSON')
    .action(async (type: string, options: { json?: boolean }) => {
      const { catalog } = await context.config();
      const entry = catalog.entries().find((candidate) => candidate.type === type);
      if (entry === undefined) {
        const known = catalog.entries().map((candidate) => candidate.type);
        throw usageError(
          `Unknown event type "${type}". ` +
            (known.length === 0
              ? 'The catalog declares no event types.'
              : `Known types: ${known.join(', ')}.`),
        );
      }
      const schema = catalog.get(type)?.jsonSchema();
      const findings = catalog.lint().filter((finding) => finding.type === type);
      if (options.json === true) return print(json({ ...described(entry, schema), findings }));

      print(`${colors.bold(entry.type)} ${colors.dim(`v${entry.version}`)}`);
      if (entry.description !== undefined) print(entry.description);
      print('');
      const label = (text: string): string => colors.dim(text.padEnd(11));
      print(`${label('Versions')}${entry.versions.join(', ')}`);
      print(`${label('Producers')}${names(entry.producers)}`);
      print(`${label('Consumers')}${names(entry.consumers)}`);
      for (const finding of findings) print(`${label('Lint')}${colors.yellow(finding.message)}`);
      print('');
      if (schema === undefined) {
        print(
          colors.dim(
            'No JSON Schema: the schema library does not export one; pass jsonSchema to defineEvent.',
          ),
        );
      } else {
        print(colors.dim(`JSON Schema (v${entry.version})`));
        print(json(schema));
      }
    });

  group
    .command('lint')
    .description('check the catalog: past-tense names, a producer and a consumer for each type')
    .option('--json', 'print the findings as JSON')
    .action(async (options: { json?: boolean }) => {
      const { catalog } = await context.config();
      const findings = catalog.lint();
      if (findings.length > 0) context.exitCode = 1;
      if (options.json === true) return print(json(findings));
      const count = catalog.entries().length;
      const checked = `${count} event type${count === 1 ? '' : 's'}`;
      if (findings.length === 0) return print(colors.green(`No findings in ${checked}.`));
      const rows = findings.map((finding) => [colors.yellow(finding.rule), finding.type, finding.message]);
      print(formatTable(['RULE', 'TYPE', 'FINDING'], rows, colors.bold));
      print('');
      print(`${findings.length} finding${findings.length === 1 ? '' : 's'} in ${checked}.`);
    });

  group
    .command('export')
    .description('write the catalog as Markdown, an AsyncAPI 3.0 document, or JSON')
    .addOption(
      new Option('-f, --format <format>', 'what to write').choices(EXPORT_FORMATS).default('markdown'),
    )
    .option('-o, --out <file>', 'write to a file instead of standard output')
    .option('--title <title>', 'the document title (default: the catalog title)')
    .option('--api-version <version>', 'info.version of the AsyncAPI document', '1.0.0')
    .action(async (options: { format: ExportFormat; out?: string; title?: string; apiVersion: string }) => {
      const { catalog } = await context.config();
      const text = render(catalog, options);
      if (options.out === undefined) return context.io.stdout(text);
      const file = resolve(context.io.cwd, options.out);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text);
      print(
        `Wrote ${options.format} for ${catalog.entries().length} event types to ${relative(context.io.cwd, file)}`,
      );
    });
}

type ExportFormat = (typeof EXPORT_FORMATS)[number];

function render(
  catalog: Catalog,
  options: { format: ExportFormat; title?: string; apiVersion: string },
): string {
  switch (options.format) {
    case 'markdown': {
      const markdown = catalogToMarkdown(catalog);
      // The document's first line is "# <catalog title>"; a --title replaces it.
      return options.title === undefined ? markdown : markdown.replace(/^# .*/, `# ${options.title}`);
    }
    case 'asyncapi':
      return `${json(catalogToAsyncApi(catalog, { title: options.title ?? catalog.title, version: options.apiVersion }))}\n`;
    case 'json':
      return `${json({
        title: options.title ?? catalog.title,
        events: catalog.entries().map((entry) => described(entry, catalog.get(entry.type)?.jsonSchema())),
        findings: catalog.lint(),
      })}\n`;
  }
}

// Plain JSON for scripts: `null` rather than a missing key where the catalog knows nothing.
function described(
  entry: CatalogEntry,
  schema: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return { ...entry, description: entry.description ?? null, jsonSchema: schema ?? null };
}

const names = (list: readonly string[]): string => (list.length === 0 ? '-' : list.join(', '));

const json = (value: unknown): string => JSON.stringify(value, null, 2);
