import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GetSubscriptionAttributesCommand, ListSubscriptionsByTopicCommand } from '@aws-sdk/client-sns';
import { z } from 'zod';
import { createBus, createCatalog, defineEvent } from '@tidings/core';
import { eventually } from '@tidings/core/testing';
import { namesFor } from './mapping.ts';
import { AWS_TEST_OPTIONS, awsAvailable, deleteUnder, prefixes, testClients } from './test-support/server.ts';
import { type AwsTransport, awsTransport } from './transport.ts';

const available = await awsAvailable();
const names = prefixes('filters');
const open: AwsTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  if (available) await deleteUnder(names.root);
}, 60_000);

const schema = z.object({ n: z.number() });
const ParcelScanned = defineEvent({ type: 'ParcelScanned', schema });
const ParcelLost = defineEvent({ type: 'ParcelLost', schema });
const ParcelWeighed = defineEvent({ type: 'ParcelWeighed', schema });
const catalog = createCatalog({ events: [ParcelScanned, ParcelLost, ParcelWeighed] });

/** The filter policy SNS holds for the group's subscription ('' when it has none). */
async function policyOf(prefix: string, channel: string, group: string): Promise<string> {
  const { sns, sqs } = testClients();
  try {
    const transportNames = namesFor(prefix, false);
    const topicArn = `arn:aws:sns:us-east-1:000000000000:${transportNames.topic(channel)}`;
    const queueName = transportNames.queue(channel, group);
    const { Subscriptions = [] } = await sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }),
    );
    const subscription = Subscriptions.find((s) => s.Endpoint?.endsWith(`:${queueName}`));
    const { Attributes = {} } = await sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: subscription?.SubscriptionArn }),
    );
    return Attributes.FilterPolicy ?? '';
  } finally {
    sqs.destroy();
    sns.destroy();
  }
}

/** Runs one bus over a transport with or without pushdown; returns what each subscription handled. */
async function run(filterPolicy: boolean) {
  const prefix = names.next();
  const transport = awsTransport({ ...AWS_TEST_OPTIONS, prefix, filterPolicy, waitTimeSeconds: 1 });
  open.push(transport);
  const bus = createBus({ catalog, transport, channel: 'parcels' });
  const handled = { scans: [] as string[], eu: [] as string[], weighed: [] as string[] };
  await bus.subscribe({
    group: 'scans',
    events: [ParcelScanned],
    handler: (event) => {
      handled.scans.push(`${event.type}:${event.data.n}`);
    },
  });
  await bus.subscribe({
    group: 'eu',
    patterns: ['Parcel*'],
    filter: { subject: { prefix: 'eu-' }, data: { n: { numeric: { gte: 3 } } } },
    handler: (event) => {
      handled.eu.push(`${event.type}:${event.data.n}`);
    },
  });
  await bus.subscribe({
    group: 'weighed',
    patterns: ['*Weighed'],
    handler: (event) => {
      handled.weighed.push(`${event.type}:${event.data.n}`);
    },
  });
  const events = [1, 2, 3, 4, 5, 6].flatMap((n) => [
    ParcelScanned.create({ n }, { subject: n % 2 === 0 ? `eu-${n}` : `us-${n}` }),
    ParcelLost.create({ n }, { subject: `eu-${n}` }),
    ParcelWeighed.create({ n }, { subject: `us-${n}` }),
  ]);
  await bus.publish(events);
  await eventually(
    () => handled.scans.length === 6 && handled.weighed.length === 6 && handled.eu.length === 6,
    { what: () => JSON.stringify(handled) },
  );
  return {
    handled: { scans: handled.scans.sort(), eu: handled.eu.sort(), weighed: handled.weighed.sort() },
    policies: {
      scans: await policyOf(prefix, 'parcels', 'scans'),
      weighed: await policyOf(prefix, 'parcels', 'weighed'),
    },
  };
}

describe.skipIf(!available)(
  'aws filter pushdown (SNS filter policies) against filtering in the consumer',
  () => {
    it('hands every subscription the same events either way', async () => {
      const pushed = await run(true);
      const local = await run(false);
      expect(pushed.handled).toEqual(local.handled);
      expect(pushed.handled.scans).toEqual(
        ['1', '2', '3', '4', '5', '6'].map((n) => `ParcelScanned:${n}`).sort(),
      );
      expect(pushed.handled.eu).toEqual(
        [
          'ParcelLost:3',
          'ParcelLost:4',
          'ParcelLost:5',
          'ParcelLost:6',
          'ParcelScanned:4',
          'ParcelScanned:6',
        ].sort(),
      );
      expect(pushed.policies).toEqual({
        scans: '{"topic":["ParcelScanned"]}',
        weighed: '{"topic":["ParcelWeighed"]}',
      });
      expect(local.policies).toEqual({ scans: '', weighed: '' });
    });

    it('widens a group policy when another member consumes more topics, and filters locally past 150 topics', async () => {
      const prefix = names.next();
      const transport = awsTransport({ ...AWS_TEST_OPTIONS, prefix, waitTimeSeconds: 1 });
      open.push(transport);
      const base = { channel: 'wide', group: 'g', concurrency: 1, ordered: false, leaseMs: 30_000 };
      const ack = async (d: { ack(): Promise<void> }) => d.ack();
      await transport.consume({ ...base, topics: ['A'] }, ack);
      await transport.consume({ ...base, topics: ['B'] }, ack);
      expect(await policyOf(prefix, 'wide', 'g')).toBe('{"topic":["A","B"]}');
      const many = Array.from({ length: 151 }, (_, i) => `T${i}`);
      await transport.consume({ ...base, topics: many }, ack);
      expect(await policyOf(prefix, 'wide', 'g')).toBe('');
    });
  },
);
