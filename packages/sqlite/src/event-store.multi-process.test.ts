import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { GlobalPosition, RecordedEvent } from '@tidings/core';
import { buildPackage } from '@tidings/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteEventStore } from './event-store.ts';

// Real processes on one file: the proof that SQLite's global order holds for writers that share nothing.
const dir = mkdtempSync(join(tmpdir(), 'tidings-store-mp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const build = buildPackage(fileURLToPath(new URL('..', import.meta.url)));
if (!build.ok) console.warn(`\n!!! [event-store.multi-process.test] SKIPPED: ${build.reason}\n`);

const WRITERS = 4;
const APPENDS = 60;
const INCREMENTS = 15;

// Each child appends batches to its own streams with random pauses, and increments one shared counter
// stream by read + append with the expected version, retrying on conflict.
const script = `
const [moduleUrl, file, writer, appends, increments] = process.argv.slice(2);
const { sqliteEventStore } = await import(moduleUrl);
const store = sqliteEventStore({ file });
const pause = () => new Promise((resolve) => Math.random() < 0.5 ? setImmediate(resolve) : setTimeout(resolve, Math.random() * 3));
const event = (type, data) => ({ id: crypto.randomUUID(), type, version: 1, source: 'urn:test', time: new Date().toISOString(), correlationId: 'c', data });
let conflicts = 0;
for (let i = 0; i < Number(appends); i += 1) {
  const count = 1 + Math.floor(Math.random() * 5);
  await store.append('w' + writer + '-' + (i % 3), Array.from({ length: count }, (_, n) => event('Wrote', { writer: Number(writer), i, n })));
  await pause();
  if (i < Number(increments)) {
    for (;;) {
      const { streamVersion } = await store.readStream('counter', { direction: 'backward', limit: 1 });
      await pause();
      try {
        await store.append('counter', [event('Incremented', { writer: Number(writer) })], { expectedVersion: streamVersion });
        break;
      } catch (error) {
        if (error.code !== 'TIDINGS_CONCURRENCY') throw error;
        conflicts += 1;
      }
    }
  }
}
await store.close();
process.stdout.write(JSON.stringify({ conflicts }));
`;

function runWriter(entry: string, file: string, writer: number): Promise<{ conflicts: number }> {
  const path = join(dir, 'writer.mjs');
  writeFileSync(path, script);
  const child = spawn(
    process.execPath,
    [path, pathToFileURL(entry).href, file, String(writer), String(APPENDS), String(INCREMENTS)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as { conflicts: number })
        : reject(new Error(`writer ${writer} exited ${code}: ${err}`)),
    );
  });
}

describe('sqliteEventStore across processes', () => {
  it.skipIf(!build.ok)(
    'gives every reader the one global order while several processes append, and loses no concurrent update',
    async () => {
      if (!build.ok) return;
      const file = join(dir, 'shared.db');
      const store = sqliteEventStore({ file });
      const seen: RecordedEvent[] = [];
      let checkpoint: GlobalPosition | undefined;
      let polls = 0;
      const poll = async (): Promise<boolean> => {
        const page = await store.readAll({ after: checkpoint, limit: 17 });
        seen.push(...page.events);
        checkpoint = page.position;
        polls += 1;
        return page.caughtUp;
      };
      let running = true;
      const writers = Promise.all(
        Array.from({ length: WRITERS }, (_, w) => runWriter(build.entry, file, w)),
      ).finally(() => {
        running = false;
      });
      // Follows the log while the writers run, as a subscription would; then reads to the end.
      while (running) {
        await poll();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const results = await writers;
      while (!(await poll()));

      const log: RecordedEvent[] = [];
      for (let after: GlobalPosition | undefined; ; ) {
        const page = await store.readAll({ after, limit: 1_000 });
        log.push(...page.events);
        after = page.position;
        if (page.caughtUp) break;
      }
      expect(seen.map((e) => e.id)).toEqual(log.map((e) => e.id));
      expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
      for (let i = 1; i < log.length; i += 1) expect(log[i - 1]!.position < log[i]!.position).toBe(true);
      const counter = await store.readStream('counter');
      expect(counter.streamVersion).toBe(WRITERS * INCREMENTS);
      expect(counter.events.map((e) => e.streamVersion)).toEqual(
        Array.from({ length: WRITERS * INCREMENTS }, (_, i) => i + 1),
      );
      for (let w = 0; w < WRITERS; w += 1) {
        for (let s = 0; s < 3; s += 1) {
          const versions = (await store.readStream(`w${w}-${s}`)).events.map((e) => e.streamVersion);
          expect(versions).toEqual(versions.map((_, i) => i + 1));
        }
      }
      console.info(
        `[event-store.multi-process] ${log.length} events from ${WRITERS} processes; reader polled ${polls} times; ` +
          `${results.reduce((sum, r) => sum + r.conflicts, 0)} expected-version conflicts retried`,
      );
      expect(polls).toBeGreaterThan(2);
      await store.close();
    },
    60_000,
  );
});
