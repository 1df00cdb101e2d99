import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import type { DoctorFinding } from '@tidings/core';
import { namesFor } from './mapping.ts';
import { AWS_TEST_OPTIONS, awsAvailable, deleteUnder, prefixes, testClients } from './test-support/server.ts';
import { type AwsTransport, awsTransport } from './transport.ts';

const available = await awsAvailable();
const names = prefixes('doctor');
const open: AwsTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  if (available) await deleteUnder(names.root);
}, 60_000);

const levels = (findings: readonly DoctorFinding[]): Record<string, string> =>
  Object.fromEntries(findings.map((f) => [f.check, f.level]));

describe.skipIf(!available)('aws doctor', () => {
  it('finds nothing wrong with the queues the transport made', async () => {
    const transport = awsTransport({ ...AWS_TEST_OPTIONS, prefix: names.next(), waitTimeSeconds: 1 });
    open.push(transport);
    await transport.consume(
      {
        channel: 'parcels',
        group: 'billing',
        topics: ['ParcelScanned'],
        concurrency: 1,
        ordered: false,
        leaseMs: 30_000,
      },
      (delivery) => delivery.ack(),
    );
    const findings = await transport.doctor();
    expect(findings.filter((f) => f.level !== 'ok')).toEqual([]);
    expect(levels(findings)).toMatchObject({
      'aws.connection': 'ok',
      'aws.group-queue': 'ok',
      'aws.redrive': 'ok',
      'aws.visibility-timeout': 'ok',
      'aws.queue-policy': 'ok',
      'aws.subscription': 'ok',
      'aws.dead-letters': 'ok',
    });
  });

  it('fails a low maxReceiveCount and a missing queue policy, and warns of a short visibility timeout', async () => {
    const prefix = names.next();
    const transport = awsTransport({ ...AWS_TEST_OPTIONS, prefix, retryBudget: 6, waitTimeSeconds: 1 });
    open.push(transport);
    const consumer = await transport.consume(
      {
        channel: 'parcels',
        group: 'fragile',
        topics: ['ParcelScanned'],
        concurrency: 1,
        ordered: false,
        leaseMs: 30_000,
      },
      (delivery) => delivery.ack(),
    );
    await consumer.close();
    const { sqs } = testClients();
    try {
      const { QueueUrl: redriveUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: `${prefix}-sqs-dlq` }),
      );
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: redriveUrl, AttributeNames: ['QueueArn'] }),
      );
      const { QueueUrl } = await sqs.send(
        new GetQueueUrlCommand({ QueueName: namesFor(prefix, false).queue('parcels', 'fragile') }),
      );
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl,
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes.QueueArn, maxReceiveCount: 3 }),
            VisibilityTimeout: '5',
            Policy: '',
          },
        }),
      );
    } finally {
      sqs.destroy();
    }
    const findings = await transport.doctor({ handlerTimeoutMs: 30_000 });
    expect(levels(findings)).toMatchObject({
      'aws.redrive': 'fail',
      'aws.visibility-timeout': 'warn',
      'aws.queue-policy': 'fail',
    });
    expect(findings.find((f) => f.check === 'aws.redrive')?.message).toMatch(
      /after 3 receives, below the retry budget of 6/,
    );
  });

  it('warns about groups whose queue does not exist yet', async () => {
    const transport = awsTransport({ ...AWS_TEST_OPTIONS, prefix: names.next() });
    open.push(transport);
    const findings = await transport.doctor({ groups: [{ channel: 'parcels', group: 'later' }] });
    expect(findings.find((f) => f.check === 'aws.group-queue')).toMatchObject({
      level: 'warn',
      message: expect.stringMatching(/does not exist yet/),
    });
  });
});
