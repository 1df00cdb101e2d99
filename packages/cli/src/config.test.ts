import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, loadDbSetting } from './config.ts';
import { CliError } from './errors.ts';
import { catalog as fixtureCatalog } from './fixtures/catalog.ts';
import { CLEAN_FIXTURE, FIXTURE } from './fixtures/run.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh directory holding `files` (name → source). */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-config-'));
  dirs.push(dir);
  for (const [name, source] of Object.entries(files)) await writeFile(join(dir, name), source);
  return dir;
}

const fixtureUrl = pathToFileURL(FIXTURE).href;

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

describe('loadConfig', () => {
  it('loads the named `catalog` export of --catalog', async () => {
    const config = await loadConfig({ catalog: FIXTURE, cwd: tmpdir() });
    expect(config.catalog).toBe(fixtureCatalog);
    expect(config).not.toHaveProperty('db');
  });

  it('loads a default-exported catalog', async () => {
    const config = await loadConfig({ catalog: CLEAN_FIXTURE, cwd: tmpdir() });
    expect(config.catalog.entries().map((entry) => entry.type)).toEqual(['OrderPlaced']);
  });

  it('resolves --catalog from the working directory', async () => {
    const cwd = await project({ 'events.mjs': `export { catalog } from '${fixtureUrl}';\n` });
    const config = await loadConfig({ catalog: './events.mjs', cwd });
    expect(config.catalog).toBe(fixtureCatalog);
  });

  it('reads { catalog, db } from tidings.config.js named exports', async () => {
    const cwd = await project({
      'package.json': '{ "type": "module" }',
      'tidings.config.js': `export { catalog } from '${fixtureUrl}';\nexport const db = 'shop.db';\n`,
    });
    const config = await loadConfig({ cwd });
    expect(config.catalog).toBe(fixtureCatalog);
    expect(config.db).toBe('shop.db');
  });

  it('reads { catalog, db } from the default export of tidings.config.mjs', async () => {
    const cwd = await project({
      'tidings.config.mjs': `import { catalog } from '${fixtureUrl}';\nexport default { catalog, db: 'shop.db' };\n`,
    });
    const config = await loadConfig({ cwd });
    expect(config.catalog).toBe(fixtureCatalog);
    expect(config.db).toBe('shop.db');
  });

  it('prefers --catalog to the config file, keeping the config db', async () => {
    const cwd = await project({
      'tidings.config.mjs': `export { catalog } from '${fixtureUrl}';\nexport const db = 'shop.db';\n`,
    });
    const config = await loadConfig({ catalog: CLEAN_FIXTURE, cwd });
    expect(config.catalog).not.toBe(fixtureCatalog);
    expect(config.db).toBe('shop.db');
  });

  it('is a usage error when there is neither --catalog nor a config file', async () => {
    const cwd = await project({});
    const error = await failure(loadConfig({ cwd }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('pass --catalog <module>');
    expect(error.message).toContain(`add tidings.config.js exporting { catalog } to ${cwd}`);
  });

  it('is a usage error when the --catalog module does not exist', async () => {
    const cwd = await project({});
    const error = await failure(loadConfig({ catalog: 'dist/events.js', cwd }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `Catalog module not found: dist/events.js (looked at ${join(cwd, 'dist', 'events.js')}); ` +
        'pass --catalog <module> (the path of a JS/ESM module that exports `catalog`, named or default).',
    );
  });

  it('is a usage error when the module exports no catalog', async () => {
    const cwd = await project({ 'events.mjs': 'export const catalogue = {};\n' });
    const error = await failure(loadConfig({ catalog: 'events.mjs', cwd }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('events.mjs does not export a catalog');
  });

  it('is a usage error when the config file exports no catalog', async () => {
    const cwd = await project({ 'tidings.config.mjs': "export const db = 'shop.db';\n" });
    const error = await failure(loadConfig({ cwd }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('tidings.config.mjs exports no catalog');
  });

  it('is a failure (exit code 1) when the module throws while loading', async () => {
    const cwd = await project({ 'events.mjs': "throw new Error('DATABASE_URL is not set');\n" });
    const error = await failure(loadConfig({ catalog: 'events.mjs', cwd }));
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('Could not load events.mjs: DATABASE_URL is not set');
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('loadDbSetting', () => {
  it('reads db from a config file that exports no catalog', async () => {
    const cwd = await project({ 'tidings.config.js': "export const db = 'shop.db';\n" });
    expect(await loadDbSetting(cwd)).toEqual({ db: 'shop.db', file: 'tidings.config.js' });
  });

  it('reads db from the default export of tidings.config.mjs', async () => {
    const cwd = await project({ 'tidings.config.mjs': "export default { db: 'data/shop.db' };\n" });
    expect(await loadDbSetting(cwd)).toEqual({ db: 'data/shop.db', file: 'tidings.config.mjs' });
  });

  it('is undefined without a config file, or when it exports no db', async () => {
    expect(await loadDbSetting(await project({}))).toBeUndefined();
    const cwd = await project({
      'tidings.config.js': `export { catalog } from ${JSON.stringify(fixtureUrl)};\n`,
    });
    expect(await loadDbSetting(cwd)).toBeUndefined();
  });
});
