import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// Tests run against the TypeScript sources of every workspace package, so a
// change is tested without a build step in between.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@tidings\/core\/testing$/, replacement: here('./packages/core/src/testing/index.ts') },
      { find: /^@tidings\/([a-z0-9-]+)$/, replacement: here('./packages/$1/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'docs/**/*.test.ts'],
    typecheck: {
      enabled: true,
      include: ['packages/*/src/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
