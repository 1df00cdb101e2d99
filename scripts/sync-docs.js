/* global console */
// Rewrites every `<!-- example: path -->` block in docs/**/*.md from the example file it names, so that
// guides show exactly the code that the tests compile and run.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..', 'docs');
const marker = /(<!-- example: (\S+) -->\n```ts\n)[\s\S]*?```/g;
for (const name of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
  if (!name.endsWith('.md')) continue;
  const file = join(root, name);
  const text = readFileSync(file, 'utf8');
  const next = text.replace(marker, (_all, /** @type {string} */ head, /** @type {string} */ path) => {
    const code = readFileSync(join(dirname(file), path), 'utf8').trimEnd();
    return `${head}${code}\n\`\`\``;
  });
  if (next !== text) {
    writeFileSync(file, next);
    console.log(`synced ${name}`);
  }
}
