import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE, run } from './fixtures/run.ts';
import { main } from './main.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});
const emptyDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-main-'));
  dirs.push(dir);
  return dir;
};

describe('main', () => {
  it('prints the package version with --version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('prints help naming the commands and exit codes with --help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: tidings [options] [command]');
    expect(stdout).toMatch(/catalog +list, show, lint and export the event catalog/);
    expect(stdout).toMatch(/dead-letters +list, inspect, replay and discard failed deliveries/);
    expect(stdout).toContain('--catalog <module>');
    expect(stdout).toContain('--db <file>');
    expect(stdout).toContain('Exit codes: 0 ok, 1 findings or failures, 2 usage error.');
  });

  it('prints help for a command group', async () => {
    const { code, stdout } = await run(['catalog', '--help']);
    expect(code).toBe(0);
    for (const command of ['list', 'show', 'lint', 'export'])
      expect(stdout).toMatch(new RegExp(`\\n  ${command} `));
    const deadLetters = await run(['dead-letters', '--help']);
    expect(deadLetters.code).toBe(0);
    for (const command of ['list', 'show', 'replay', 'discard', 'groups', 'depth'])
      expect(deadLetters.stdout).toMatch(new RegExp(`\\n  ${command} `));
  });

  it('prints help to stderr and exits with 2 when no command is given', async () => {
    const { code, stdout, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Usage: tidings');
  });

  it('exits with 2 and suggests a command for a typo', async () => {
    const { code, stderr } = await run(['catalog', 'lsit']);
    expect(code).toBe(2);
    expect(stderr).toContain("error: unknown command 'lsit'");
    expect(stderr).toContain('Did you mean list?');
  });

  it('exits with 2 for an unknown option', async () => {
    const { code, stderr } = await run(['catalog', 'list', '--fast', '--catalog', FIXTURE]);
    expect(code).toBe(2);
    expect(stderr).toContain("error: unknown option '--fast'");
  });

  it('exits with 2 and says what to pass when there is no catalog', async () => {
    const { code, stdout, stderr } = await run(['catalog', 'list'], { cwd: await emptyDir() });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n')).toHaveLength(2);
    expect(stderr).toMatch(/^error: No catalog to read: pass --catalog <module>.*tidings\.config\.js/);
  });

  it('prints one line without a stack, and the stack with --verbose', async () => {
    const cwd = await emptyDir();
    const quiet = await run(['catalog', 'lint', '--catalog', 'missing.js'], { cwd });
    expect(quiet.code).toBe(2);
    expect(quiet.stderr).toMatch(/^error: Catalog module not found: missing\.js [^\n]*\n$/);

    const verbose = await run(['--verbose', 'catalog', 'lint', '--catalog', 'missing.js'], { cwd });
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toContain(quiet.stderr);
    expect(verbose.stderr).toMatch(/\n {4}at /);
  });

  it('exits with 1 when the catalog module fails to load', async () => {
    const cwd = await emptyDir();
    await writeFile(join(cwd, 'events.mjs'), "throw new Error('boom');\n");
    const { code, stderr } = await run(['catalog', 'list', '--catalog', 'events.mjs'], { cwd });
    expect(code).toBe(1);
    expect(stderr).toBe('error: Could not load events.mjs: boom\n');
  });

  it('accepts global options before the command', async () => {
    const { code, stdout } = await run(['--catalog', FIXTURE, 'catalog', 'list']);
    expect(code).toBe(0);
    expect(stdout).toContain('OrderPlaced');
  });

  it('colours the output only when asked, and never with --no-color', async () => {
    const capture = async (args: string[], color: boolean): Promise<string> => {
      let text = '';
      const io = { stdout: (chunk: string) => void (text += chunk), stderr: () => {}, color };
      await main(['node', 'tidings', 'catalog', 'list', '--catalog', FIXTURE, ...args], io);
      return text;
    };
    expect(await capture([], true)).toContain('\u001b[1mTYPE');
    expect(await capture([], false)).not.toContain('\u001b[');
    expect(await capture(['--no-color'], true)).not.toContain('\u001b[');
  });
});
