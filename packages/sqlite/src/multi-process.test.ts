import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsumeOptions, Delivery } from '@tidings/core';
import type { ChildConsumer } from '@tidings/core/testing';
import {
  buildPackage,
  describeTransportSuite,
  spawnChildConsumer,
  transportCases,
} from '@tidings/core/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it, test } from 'vitest';
import type { SqliteTransportOptions } from './options.ts';
import { sqliteTransport } from './transport.ts';
import type { SqliteTransport } from './transport.ts';
import { eventually, message } from './test-support/harness.ts';

// Real time here: the other side is another connection or another process, which no manual clock drives.
const dir = mkdtempSync(join(tmpdir(), 'tidings-sqlite-'));
let files = 0;
const newFile = (): string => join(dir, `shared-${(files += 1)}.db`);
const fileFor = (channel: string): string => join(dir, `${channel}.db`);

const transports: SqliteTransport[] = [];
const children: ChildConsumer[] = [];
const open = (file: string): SqliteTransport => {
  const transport = sqliteTransport({ file, pollIntervalMs: 5 });
  transports.push(transport);
  return transport;
};
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
  await Promise.all(transports.splice(0).map((t) => t.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The child imports the built package, as an application would.
const build = buildPackage(fileURLToPath(new URL('..', import.meta.url)));
if (!build.ok)
  console.warn(`\n!!! [multi-process.test] the child-process tests are SKIPPED: ${build.reason}\n`);

/** A consumer in another process on `file`; its factory arguments travel as JSON. */
async function spawnOn(file: string, consume: ConsumeOptions): Promise<ChildConsumer> {
  if (!build.ok) throw new Error(build.reason);
  const args: SqliteTransportOptions = { file, pollIntervalMs: 10 };
  const child = await spawnChildConsumer({ module: build.entry, factory: 'sqliteTransport', args, consume });
  children.push(child);
  return child;
}

const options = {
  channel: 'orders',
  group: 'shared',
  topics: ['OrderPlaced'],
  ordered: false,
  leaseMs: 30_000,
};

describe('sqliteTransport across connections and processes', () => {
  it('shares the work of one group between two transports on the same file', async () => {
    const file = newFile();
    const a = open(file);
    const b = open(file);
    const got = { a: [] as string[], b: [] as string[] };
    const handle = (into: string[]) => async (delivery: Delivery) => {
      into.push(delivery.message.id);
      await new Promise((resolve) => setTimeout(resolve, 2));
      await delivery.ack();
    };
    await a.consume({ ...options, concurrency: 2 }, handle(got.a));
    await b.consume({ ...options, concurrency: 2 }, handle(got.b));
    const ids = Array.from({ length: 200 }, (_, i) => `m-${i}`);
    // Published on both connections: each sees the other's messages by polling.
    await a.publish(
      'orders',
      ids.slice(0, 100).map((id) => message(id)),
    );
    await b.publish(
      'orders',
      ids.slice(100).map((id) => message(id)),
    );
    await eventually(() => got.a.length + got.b.length >= 200, 'every message to be handled');
    // Drained and closed: nothing more can arrive, so a duplicate would show now.
    await Promise.all(transports.splice(0).map((t) => t.close()));
    expect([...got.a, ...got.b].sort()).toEqual([...ids].sort());
    expect(got.a.length).toBeGreaterThan(0);
    expect(got.b.length).toBeGreaterThan(0);
  });

  it('sees a group subscribed on another connection when publishing', async () => {
    const file = newFile();
    const consumerSide = open(file);
    const publisherSide = open(file);
    const seen: string[] = [];
    await consumerSide.consume({ ...options, concurrency: 1 }, async (delivery) => {
      seen.push(delivery.message.id);
      await delivery.ack();
    });
    await publisherSide.publish('orders', [message('from-elsewhere')]);
    await eventually(() => seen.length === 1, 'the delivery');
    expect(seen).toEqual(['from-elsewhere']);
  });
});

describe('a consumer process killed mid-handler', () => {
  it.skipIf(!build.ok)(
    'loses nothing: the message comes back with attempt 2 once the lease runs out',
    async () => {
      const file = newFile();
      const parent = open(file);
      const crash = { ...options, group: 'crash', concurrency: 1, leaseMs: 1000 };
      const child = await spawnOn(file, crash);

      await parent.publish('orders', [message('doomed')]);
      expect(await child.holding(1)).toEqual(['doomed']);
      await child.kill();

      const received: { id: string; attempt: number }[] = [];
      await parent.consume(crash, async (delivery) => {
        received.push({ id: delivery.message.id, attempt: delivery.attempt });
        await delivery.ack();
      });
      await eventually(() => received.length === 1, 'the redelivery', 5000);
      // The child's attempt was counted before its handler ran: this is the second.
      expect(received).toEqual([{ id: 'doomed', attempt: 2 }]);
    },
    20_000,
  );
});

// The conformance suite on real time and a file per channel: the SIGKILL case, and the bus cases (quick,
// and a check on a real file). The other transport cases run on the manual clock in transport.suite.test.ts.
const crashCase = 'redelivers what a consumer killed with SIGKILL was handling';
describeTransportSuite(
  { describe, test, beforeEach, afterEach },
  {
    name: 'sqlite, across processes',
    clock: 'system',
    create: ({ channel, clock }) => sqliteTransport({ file: fileFor(channel), clock, pollIntervalMs: 10 }),
    spawnConsumer: build.ok
      ? (consume) => spawnOn(fileFor(consume.channel), { ordered: false, ...consume })
      : undefined,
    skip: transportCases
      .filter((transportCase) => transportCase.name !== crashCase)
      .map((transportCase) => ({
        test: transportCase.name,
        reason: 'runs on the manual clock in transport.suite.test.ts',
      })),
  },
);
