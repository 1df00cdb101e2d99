import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { defineEvent } from './define-event.ts';
import { memoryTransport } from './memory-transport.ts';
import { toTransportMessage } from './message.ts';
import { isTidingsError } from './errors.ts';
import {
  busCases,
  createLedger,
  createManualClock,
  describeTransportSuite,
  eventually,
  type SuiteRunner,
  transportCases,
} from './testing/index.ts';
import type { ConsumeOptions, Delivery, Transport } from './transport.ts';

describeTransportSuite(
  { describe, test, beforeEach, afterEach },
  {
    name: 'memory',
    clock: 'manual',
    create: ({ clock }) => memoryTransport({ clock }),
    skip: [
      {
        test: 'redelivers what a consumer killed with SIGKILL was handling',
        reason: 'in-process transport: nothing survives the process',
      },
    ],
  },
);

// The suite is only worth running if it fails on a broken transport: here the ledger meets a few.
describe('the ledger catches a transport that breaks its promises', () => {
  const ParcelScanned = defineEvent({ type: 'ParcelScanned', schema: z.object({ n: z.number() }) });
  const parcel = (n: number, subject?: string) =>
    toTransportMessage(ParcelScanned.create({ n }, { subject }));
  const consume = (overrides: Partial<ConsumeOptions> = {}): ConsumeOptions => ({
    channel: 'c',
    group: 'g',
    topics: ['ParcelScanned'],
    concurrency: 1,
    ordered: false,
    leaseMs: 30_000,
    ...overrides,
  });
  const acking = async (delivery: Delivery): Promise<void> => delivery.ack();

  test('a message confirmed but never delivered', async () => {
    const base = memoryTransport({ clock: createManualClock() });
    const lossy: Transport = {
      ...base,
      publish: (channel, messages) => base.publish(channel, messages.slice(1)),
    };
    const ledger = createLedger(lossy);
    await ledger.transport.consume(consume(), acking);
    const [lost, kept] = [parcel(1), parcel(2)];
    await ledger.transport.publish('c', [lost, kept]);
    await eventually(() => ledger.deliveries().length === 1);
    expect(ledger.check().problems).toEqual([`${lost.id} was confirmed but never delivered to group g`]);
  });

  test('a message left nacked at the end', async () => {
    const ledger = createLedger(memoryTransport({ clock: createManualClock() }));
    await ledger.transport.consume(consume(), (delivery) => delivery.nack({ delayMs: 60_000 }));
    await ledger.transport.publish('c', [parcel(1)]);
    await eventually(() => ledger.deliveries().length === 1);
    expect(ledger.check().problems).toEqual([expect.stringContaining('ended nacked (attempt 1)')]);
  });

  test('a redelivery after an ack, with nothing failing in between', async () => {
    const base = memoryTransport({ clock: createManualClock() });
    // Acks that the broker forgets: the delivery is released instead, and comes back.
    const forgetful: Transport = {
      ...base,
      consume: (options, handler) =>
        base.consume(options, (delivery) => handler({ ...delivery, ack: () => delivery.nack() })),
    };
    const ledger = createLedger(forgetful);
    await ledger.transport.consume(consume(), async (delivery) => {
      if (ledger.deliveries().length <= 2) await delivery.ack();
    });
    await ledger.transport.publish('c', [parcel(1)]);
    await eventually(() => ledger.deliveries().length === 3);
    const report = ledger.check();
    expect(report.unexplainedDuplicates).toBe(2);
    expect(report.problems).toEqual([
      expect.stringContaining('ended unsettled'),
      expect.stringContaining('(attempt 2) after it had been acked, with no failure in between'),
      expect.stringContaining('(attempt 3) after it had been acked, with no failure in between'),
    ]);
    expect(ledger.check({ ...base.capabilities, duplicates: 'possible' }).problems).toEqual([
      expect.stringContaining('ended unsettled'),
    ]);
  });

  test('one subject delivered out of publish order', async () => {
    const base = memoryTransport({ clock: createManualClock() });
    const reversing: Transport = {
      ...base,
      publish: (channel, messages) => base.publish(channel, [...messages].reverse()),
    };
    const ledger = createLedger(reversing);
    await ledger.transport.consume(consume({ ordered: true }), acking);
    await ledger.transport.publish('c', [parcel(1, 'k'), parcel(2, 'k')]);
    await eventually(() => ledger.deliveries().filter((d) => d.settled?.kind === 'ack').length === 2);
    expect(ledger.check().problems).toEqual([expect.stringContaining('subject k:')]);
  });

  test('an attempt counter that does not grow', async () => {
    const base = memoryTransport({ clock: createManualClock() });
    const amnesiac: Transport = {
      ...base,
      consume: (options, handler) =>
        base.consume(options, (delivery) => handler(Object.freeze({ ...delivery, attempt: 1 }))),
    };
    const ledger = createLedger(amnesiac);
    await ledger.transport.consume(consume(), async (delivery) => {
      if (ledger.deliveries().length === 1) await delivery.nack();
      else await delivery.ack();
    });
    await ledger.transport.publish('c', [parcel(1)]);
    await eventually(() => ledger.deliveries().length === 2 && ledger.deliveries()[1]?.settled !== undefined);
    expect(ledger.check().problems).toEqual([expect.stringContaining('attempt 1 follows attempt 1')]);
  });

  test('and finds nothing wrong with a lost lease, a late ack and a replay', async () => {
    const clock = createManualClock();
    const ledger = createLedger(memoryTransport({ clock }));
    const deliveries: Delivery[] = [];
    await ledger.transport.consume(consume({ concurrency: 2 }), (delivery) => {
      deliveries.push(delivery);
      return Promise.resolve();
    });
    await ledger.transport.publish('c', [parcel(1)]);
    await eventually(() => deliveries.length === 1);
    await clock.advance(30_000);
    await eventually(() => deliveries.length === 2);
    await deliveries[0]?.ack();
    await deliveries[1]?.deadLetter({
      handler: 'h',
      error: { name: 'Error', message: 'no' },
      attempts: 2,
      firstFailedAt: 0,
      lastFailedAt: 0,
      fingerprint: 'f',
      reason: 'exhausted',
    });
    const [record] = await ledger.transport.deadLetters.list({ group: 'g' });
    await ledger.transport.deadLetters.replay(record?.id ?? '');
    await eventually(() => deliveries.length === 3);
    await deliveries[2]?.ack();
    const report = ledger.check();
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      confirmed: 1,
      deliveries: 3,
      duplicates: 2,
      unexplainedDuplicates: 0,
      acked: 1,
    });
  });
});

describe('describeTransportSuite', () => {
  /** A runner that only records what would be registered. */
  function recordingRunner(options: { skip: boolean }): {
    runner: SuiteRunner;
    names: string[];
    done: Promise<void>[];
  } {
    const names: string[] = [];
    const done: Promise<void>[] = [];
    const test = Object.assign((name: string) => void names.push(name), {
      skip: options.skip ? (name: string) => void names.push(`skip: ${name}`) : undefined,
    });
    const runner: SuiteRunner = {
      describe: (_name, fn) => void done.push(Promise.resolve(fn())),
      test,
    };
    return { runner, names, done };
  }
  const settle = async (done: Promise<void>[]): Promise<void> => {
    for (let i = 0; i < done.length; i += 1) await done[i];
  };

  test('registers every case, and capability skips with their reasons', async () => {
    const { runner, names, done } = recordingRunner({ skip: true });
    const capabilities = { ...memoryTransport().capabilities, ordering: 'none' as const, leases: false };
    describeTransportSuite(runner, { name: 'x', create: () => memoryTransport(), capabilities });
    await settle(done);
    expect(names).toHaveLength(transportCases.length + busCases.length);
    expect(names).toContain(
      'skip: delivers one subject in publish order, one at a time (skipped: transport declares ordering none)',
    );
    expect(names).toContain(
      'skip: redelivers what a consumer killed with SIGKILL was handling (skipped: needs spawnConsumer)',
    );
    expect(names).toContain(
      'skip: keeps the lease of a handler that touches it (skipped: transport declares no leases)',
    );
  });

  test('registers a skipped case as a passing test named with its reason when the runner has no test.skip', async () => {
    const { runner, names, done } = recordingRunner({ skip: false });
    describeTransportSuite(runner, {
      name: 'x',
      create: () => memoryTransport(),
      skip: [{ test: 'carries a 1 MB payload', reason: 'too big for this broker' }],
    });
    await settle(done);
    expect(names).toContain('carries a 1 MB payload (skipped: too big for this broker)');
  });

  test('refuses a skip that names no case, and one without a reason', () => {
    const { runner } = recordingRunner({ skip: true });
    let error: unknown;
    try {
      describeTransportSuite(runner, {
        name: 'x',
        create: () => memoryTransport(),
        skip: [
          { test: 'no such case', reason: 'typo' },
          { test: 'carries a 1 MB payload', reason: '' },
        ],
      });
    } catch (caught) {
      error = caught;
    }
    expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    expect((error as { details: { problems: string[] } }).details.problems).toHaveLength(2);
  });
});
