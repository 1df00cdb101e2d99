import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OrderPlaced } from '../fixtures/catalog.ts';
import { CLEAN_FIXTURE, FIXTURE, run } from '../fixtures/run.ts';

const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-cli-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('tidings catalog list', () => {
  it('prints a table of types, versions, producers and consumers', async () => {
    const { code, stdout, stderr } = await run(['catalog', 'list', '--catalog', FIXTURE]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]?.split(/\s{2,}/)).toEqual(['TYPE', 'VERSION', 'VERSIONS', 'PRODUCERS', 'CONSUMERS']);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/))).toEqual([
      ['OrderPlaced', '2', '1, 2', 'orders', 'payments, shipping'],
      ['billing.PaymentFailed', '1', '1', 'payments', 'orders'],
      ['ShipOrder', '1', '1', 'orders', '-'],
    ]);
  });

  it('starts every cell of a column at the same offset', async () => {
    const { stdout } = await run(['catalog', 'list', '--catalog', FIXTURE]);
    const [header = '', ...rows] = stdout.trimEnd().split('\n');
    const offsets = ['VERSION', 'VERSIONS', 'PRODUCERS', 'CONSUMERS'].map((title) => header.indexOf(title));
    for (const row of rows) {
      for (const offset of offsets) expect(row.slice(offset - 2, offset + 1)).toMatch(/^ {2}\S$/);
    }
  });

  it('prints the entries as JSON with --json', async () => {
    const { code, stdout } = await run(['catalog', 'list', '--json', '--catalog', FIXTURE]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({ type: 'OrderPlaced', version: 2, versions: [1, 2], producers: ['orders'] }),
      expect.objectContaining({ type: 'billing.PaymentFailed', consumers: ['orders'] }),
      expect.objectContaining({ type: 'ShipOrder', consumers: [] }),
    ]);
  });
});

describe('tidings catalog show', () => {
  it('prints one type with its description, roles and JSON Schema', async () => {
    const { code, stdout } = await run(['catalog', 'show', 'OrderPlaced', '--catalog', FIXTURE]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OrderPlaced v2\nA customer placed an order at checkout\.\n/);
    expect(stdout).toMatch(/Versions +1, 2\n/);
    expect(stdout).toMatch(/Producers +orders\n/);
    expect(stdout).toMatch(/Consumers +payments, shipping\n/);
    const schema = stdout.slice(stdout.indexOf('JSON Schema (v2)\n') + 'JSON Schema (v2)\n'.length);
    expect(JSON.parse(schema)).toEqual(OrderPlaced.jsonSchema());
  });

  it("shows the type's lint findings", async () => {
    const { stdout } = await run(['catalog', 'show', 'ShipOrder', '--catalog', FIXTURE]);
    expect(stdout).toMatch(/Lint +ShipOrder has no consumer in the catalog/);
  });

  it('prints the entry, schema and findings as JSON with --json', async () => {
    const { stdout } = await run([
      'catalog',
      'show',
      'billing.PaymentFailed',
      '--json',
      '--catalog',
      FIXTURE,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({
      type: 'billing.PaymentFailed',
      description: 'A charge for an order was declined.',
      producers: ['payments'],
      jsonSchema: { type: 'object', required: ['orderId', 'reason'] },
      findings: [],
    });
  });

  it('fails with exit code 2 and the known types for an unknown type', async () => {
    const { code, stdout, stderr } = await run(['catalog', 'show', 'OrderShipped', '--catalog', FIXTURE]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'error: Unknown event type "OrderShipped". Known types: OrderPlaced, billing.PaymentFailed, ShipOrder.\n',
    );
  });

  it('fails with exit code 2 when the type is missing', async () => {
    const { code, stderr } = await run(['catalog', 'show', '--catalog', FIXTURE]);
    expect(code).toBe(2);
    expect(stderr).toContain("missing required argument 'type'");
  });
});

describe('tidings catalog lint', () => {
  it('prints the findings and exits with 1', async () => {
    const { code, stdout } = await run(['catalog', 'lint', '--catalog', FIXTURE]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/past-tense +ShipOrder +ShipOrder reads like a command/);
    expect(stdout).toMatch(/no-consumer +ShipOrder +ShipOrder has no consumer in the catalog/);
    expect(stdout).toContain('2 findings in 3 event types.');
  });

  it('exits with 0 when there are no findings', async () => {
    const { code, stdout } = await run(['catalog', 'lint', '--catalog', CLEAN_FIXTURE]);
    expect(code).toBe(0);
    expect(stdout).toBe('No findings in 1 event type.\n');
  });

  it('prints the findings as JSON with --json, keeping the exit code', async () => {
    const { code, stdout } = await run(['catalog', 'lint', '--json', '--catalog', FIXTURE]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({ rule: 'past-tense', type: 'ShipOrder' }),
      expect.objectContaining({ rule: 'no-consumer', type: 'ShipOrder' }),
    ]);
  });
});

describe('tidings catalog export', () => {
  it('writes Markdown to stdout by default', async () => {
    const { code, stdout } = await run(['catalog', 'export', '--catalog', FIXTURE]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^# Shop events\n/);
    expect(stdout).toContain('| [OrderPlaced](#orderplaced) | 2 | orders | payments, shipping |');
    expect(stdout).toContain('```json');
  });

  it('replaces the Markdown title with --title', async () => {
    const { stdout } = await run(['catalog', 'export', '--title', 'Shop', '--catalog', FIXTURE]);
    expect(stdout).toMatch(/^# Shop\n/);
  });

  it('writes an AsyncAPI 3.0 document with --format asyncapi', async () => {
    const { code, stdout } = await run([
      'catalog',
      'export',
      '--format',
      'asyncapi',
      '--api-version',
      '3.1.0',
      '--catalog',
      FIXTURE,
    ]);
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc).toMatchObject({ asyncapi: '3.0.0', info: { title: 'Shop events', version: '3.1.0' } });
    expect(doc.operations['orders.send.OrderPlaced']).toMatchObject({ action: 'send' });
    expect(doc.operations['payments.receive.OrderPlaced']).toMatchObject({ action: 'receive' });
    expect(doc.components.messages.OrderPlaced.payload).toEqual(OrderPlaced.jsonSchema());
  });

  it('writes entries with their JSON Schemas and the findings with --format json', async () => {
    const { stdout } = await run(['catalog', 'export', '--format', 'json', '--catalog', FIXTURE]);
    const doc = JSON.parse(stdout);
    expect(doc.title).toBe('Shop events');
    expect(doc.events.map((event: { type: string }) => event.type)).toEqual([
      'OrderPlaced',
      'billing.PaymentFailed',
      'ShipOrder',
    ]);
    expect(doc.events[0].jsonSchema).toEqual(OrderPlaced.jsonSchema());
    expect(doc.findings).toHaveLength(2);
  });

  it('writes to a file with --out, creating its directory', async () => {
    const cwd = await tempDir();
    const { code, stdout } = await run(
      ['catalog', 'export', '--format', 'asyncapi', '--out', 'docs/asyncapi.json', '--catalog', FIXTURE],
      { cwd },
    );
    expect(code).toBe(0);
    expect(stdout).toBe(`Wrote asyncapi for 3 event types to ${join('docs', 'asyncapi.json')}\n`);
    const written = JSON.parse(await readFile(join(cwd, 'docs', 'asyncapi.json'), 'utf8'));
    expect(written.asyncapi).toBe('3.0.0');
  });

  it('rejects an unknown format with exit code 2 and the allowed choices', async () => {
    const { code, stdout, stderr } = await run([
      'catalog',
      'export',
      '--format',
      'yaml',
      '--catalog',
      FIXTURE,
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Allowed choices are markdown, asyncapi, json.');
  });
});
