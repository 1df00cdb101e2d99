import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

// Every guide shows its examples as `<!-- example: examples/x.ts -->` followed by a ts block. The block
// must equal the file, which `npm run typecheck` compiles and this test runs, so a guide cannot drift.
const here = import.meta.dirname;
// Run `npm run docs:sync` after editing an example to copy it into its guide.
const marker = /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```/g;

const guides = readdirSync(here, { recursive: true, encoding: 'utf8' }).filter(
  (name) => name.endsWith('.md') && readFileSync(join(here, name), 'utf8').includes('<!-- example: '),
);

describe.each(guides)('%s', (guide) => {
  const text = readFileSync(join(here, guide), 'utf8');
  const examples = [...text.matchAll(marker)].map(([, path, code]) => ({
    path: path ?? '',
    code: code ?? '',
  }));

  test.each(examples.map((example) => [example.path, example] as const))(
    'example %s matches its file',
    (_path, example) => {
      expect(example.code.trim()).toBe(readFileSync(join(here, example.path), 'utf8').trim());
    },
  );

  test.each(examples.map((example) => [example.path] as const))('example %s runs', async (path) => {
    await expect(import(join(here, path))).resolves.toBeDefined();
  });
});
