import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect } from 'amqplib';
import { formatFinding, runDoctor } from '@tidings/core';
import type { DoctorFinding } from '@tidings/core';
import { namesFor } from './mapping.ts';
import { deleteUnder, prefixes, RABBITMQ_TEST_URL, rabbitmqAvailable } from './test-support/server.ts';
import { type RabbitmqTransport, rabbitmqTransport } from './transport.ts';

const available = await rabbitmqAvailable();
const names = prefixes('doctor');
const open: RabbitmqTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  if (available) await deleteUnder(names.root);
}, 60_000);

const make = (prefix: string): RabbitmqTransport => {
  const made = rabbitmqTransport({ url: RABBITMQ_TEST_URL, prefix, retryBudget: 6 });
  open.push(made);
  return made;
};

/** Declares a queue as someone else might have, outside the transport. */
async function declareOutside(queue: string, args: Record<string, unknown>, durable = true): Promise<void> {
  const connection = await connect(RABBITMQ_TEST_URL);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable, arguments: args });
  } finally {
    await connection.close();
  }
}

const about = (findings: readonly DoctorFinding[], text: string): DoctorFinding | undefined =>
  findings.find((f) => f.check === 'rabbitmq.group-queue' && f.message.includes(text));

describe.skipIf(!available)('rabbitmq doctor', () => {
  it('finds a consumed group queue healthy and says what AMQP cannot read', async () => {
    const prefix = names.next();
    const t = make(prefix);
    await t.consume(
      {
        channel: 'orders',
        group: 'billing',
        topics: ['OrderPlaced'],
        concurrency: 1,
        ordered: false,
        leaseMs: 1_000,
      },
      (d) => d.ack(),
    );
    const findings = await runDoctor(t);
    expect(about(findings, namesFor(prefix).queue('orders', 'billing'))?.level).toBe('ok');
    expect(findings.find((f) => f.check === 'rabbitmq.connection')?.level).toBe('ok');
    expect(findings.find((f) => f.check === 'rabbitmq.alarms')?.level).toBe('ok');
    expect(findings.find((f) => f.check === 'rabbitmq.consumer-timeout')).toMatchObject({ level: 'warn' });
    expect(findings.find((f) => f.check === 'rabbitmq.delivery-limit-policy')).toMatchObject({
      level: 'warn',
    });
    for (const finding of findings) expect(formatFinding(finding)).toMatch(/^(OK|WARN|FAIL) +rabbitmq\./);
  });

  it('fails a classic queue, a non-durable one and a delivery limit below the retry budget', async () => {
    const prefix = names.next();
    const layout = namesFor(prefix);
    const queue = (channel: string, group: string): string => layout.queue(channel, group);
    await declareOutside(queue('orders', 'classic'), {});
    await declareOutside(queue('orders', 'fleeting'), { 'x-queue-type': 'classic' }, false);
    await declareOutside(queue('orders', 'limited'), { 'x-queue-type': 'quorum', 'x-delivery-limit': 2 });
    const t = make(prefix);
    const findings = await t.doctor({
      groups: ['classic', 'fleeting', 'limited', 'missing'].map((group) => ({ channel: 'orders', group })),
    });
    expect(about(findings, queue('orders', 'classic'))).toMatchObject({
      level: 'fail',
      message: expect.stringContaining('not a quorum queue'),
    });
    expect(about(findings, queue('orders', 'fleeting'))?.level).toBe('fail');
    expect(about(findings, queue('orders', 'limited'))).toMatchObject({
      level: 'fail',
      message: expect.stringContaining('x-delivery-limit 2, below the retry budget of 6'),
    });
    expect(about(findings, queue('orders', 'missing'))).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('does not exist yet'),
    });
    // Checking never creates: the missing queue is still missing.
    const again = await t.doctor({ groups: [{ channel: 'orders', group: 'missing' }] });
    expect(about(again, queue('orders', 'missing'))?.level).toBe('warn');
  });

  it('refuses to consume from a queue declared with other settings, saying what to do', async () => {
    const prefix = names.next();
    await declareOutside(namesFor(prefix).queue('orders', 'classic'), {});
    const t = make(prefix);
    await expect(
      t.consume(
        {
          channel: 'orders',
          group: 'classic',
          topics: ['OrderPlaced'],
          concurrency: 1,
          ordered: false,
          leaseMs: 1_000,
        },
        (d) => d.ack(),
      ),
    ).rejects.toMatchObject({ code: 'TIDINGS_UNSUPPORTED', message: expect.stringContaining('quorum') });
  });

  it('reports an unreachable broker as a failed connection check, and publishes fail as unavailable', async () => {
    const t = rabbitmqTransport({
      url: 'amqp://guest:guest@127.0.0.1:1',
      connectTimeoutMs: 300,
      onError: () => undefined,
    });
    open.push(t);
    const findings = await t.doctor();
    expect(findings).toEqual([expect.objectContaining({ check: 'rabbitmq.connection', level: 'fail' })]);
    await expect(
      t.publish('orders', [{ id: 'a', topic: 'OrderPlaced', headers: {}, body: new Uint8Array() }]),
    ).rejects.toMatchObject({ code: 'TIDINGS_UNAVAILABLE' });
  });
});
