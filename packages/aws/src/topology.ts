import { createHash } from 'node:crypto';
import {
  CreateTopicCommand,
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SetSubscriptionAttributesCommand,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { TidingsError } from '@tidings/core';
import { type Clients, explain, isMissing } from './client.ts';
import { type Names, policyTopics, topicPolicy } from './mapping.ts';

/** What a consumer learns when its group is set up. @internal */
export interface GroupSetup {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly topicArn: string;
  /** The topics SNS lets through to the queue, or `undefined` when its subscription has no filter policy. */
  readonly delivered: ReadonlySet<string> | undefined;
}

/** Creates topics and queues on demand, and remembers what it made. @internal */
export interface Topology {
  topicArn(channel: string): Promise<string>;
  group(channel: string, group: string, topics: readonly string[]): Promise<GroupSetup>;
  /** The URL of an existing queue, or `undefined`; remembered once found. */
  queueUrl(name: string): Promise<string | undefined>;
  /** The URL of the dead-letter queue, created when missing. */
  deadLetterQueue(): Promise<string>;
}

/** Queue attributes the transport sets: SQS's longest retention (14 days). */
const RETENTION_SECONDS = '1209600';

/** The queue-policy statement that lets one topic deliver to one queue. @internal */
export function deliveryStatement(queueArn: string, topicArn: string): Record<string, unknown> {
  return {
    Sid: `tidings-sns-${createHash('sha256').update(topicArn).digest('hex').slice(0, 12)}`,
    Effect: 'Allow',
    Principal: { Service: 'sns.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: queueArn,
    Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
  };
}

/** The statements of a queue policy (empty for none or an unreadable one). @internal */
export function policyStatements(policy: string | undefined): Record<string, unknown>[] {
  if (policy === undefined || policy === '') return [];
  try {
    const parsed = JSON.parse(policy) as { Statement?: unknown };
    const statements = parsed.Statement;
    if (Array.isArray(statements)) return statements as Record<string, unknown>[];
    return typeof statements === 'object' && statements !== null
      ? [statements as Record<string, unknown>]
      : [];
  } catch {
    return [];
  }
}

/** @internal */
export function createTopology(clients: Clients, names: Names, fifo: boolean, pushdown: boolean): Topology {
  const topics = new Map<string, Promise<string>>();
  const queues = new Map<string, string>();
  const groups = new Map<string, Promise<GroupSetup>>();

  /** Runs `work` once per key at a time; a failure is forgotten, so the next call tries again. */
  const once = <T>(cache: Map<string, Promise<T>>, key: string, work: () => Promise<T>): Promise<T> => {
    let pending = cache.get(key);
    if (pending === undefined) {
      pending = work();
      cache.set(key, pending);
      pending.catch(() => cache.delete(key));
    }
    return pending;
  };

  const topicArn = (channel: string): Promise<string> =>
    once(topics, channel, async () => {
      const name = names.topic(channel);
      try {
        const created = await clients.sns.send(
          new CreateTopicCommand({ Name: name, Attributes: fifo ? { FifoTopic: 'true' } : {} }),
        );
        if (created.TopicArn === undefined) throw new Error('CreateTopic returned no TopicArn');
        return created.TopicArn;
      } catch (error) {
        throw explain(`create SNS topic ${name}`, error);
      }
    });

  const queueUrl = async (name: string): Promise<string | undefined> => {
    const known = queues.get(name);
    if (known !== undefined) return known;
    try {
      const found = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      if (found.QueueUrl !== undefined) queues.set(name, found.QueueUrl);
      return found.QueueUrl;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw explain(`look up SQS queue ${name}`, error);
    }
  };

  const ensureQueue = async (name: string, queueFifo: boolean): Promise<string> => {
    const existing = await queueUrl(name);
    if (existing !== undefined) return existing;
    try {
      const created = await clients.sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            MessageRetentionPeriod: RETENTION_SECONDS,
            ...(queueFifo ? { FifoQueue: 'true' } : {}),
          },
        }),
      );
      if (created.QueueUrl === undefined) throw new Error('CreateQueue returned no QueueUrl');
      queues.set(name, created.QueueUrl);
      return created.QueueUrl;
    } catch (error) {
      throw explain(`create SQS queue ${name}`, error);
    }
  };

  /** Adds the statement that lets the topic deliver, keeping whatever else the policy says. */
  const allowDelivery = async (url: string, queueArn: string, arn: string, policy: string | undefined) => {
    const statement = deliveryStatement(queueArn, arn);
    const statements = policyStatements(policy);
    if (statements.some((s) => s.Sid === statement.Sid)) return;
    const document = { Version: '2012-10-17', Statement: [...statements, statement] };
    await clients.sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: JSON.stringify(document) } }),
    );
  };

  /** The subscription of the queue to the topic, made or brought up to date; returns what it lets through. */
  const subscribe = async (arn: string, queueArn: string, wanted: readonly string[]) => {
    let subscriptionArn: string | undefined;
    let token: string | undefined;
    do {
      const page = await clients.sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: arn, NextToken: token }),
      );
      subscriptionArn = page.Subscriptions?.find(
        (s) => s.Protocol === 'sqs' && s.Endpoint === queueArn,
      )?.SubscriptionArn;
      token = page.NextToken;
    } while (subscriptionArn === undefined && token !== undefined);

    const policy = pushdown ? topicPolicy(wanted) : undefined;
    if (subscriptionArn === undefined) {
      await clients.sns.send(
        new SubscribeCommand({
          TopicArn: arn,
          Protocol: 'sqs',
          Endpoint: queueArn,
          ReturnSubscriptionArn: true,
          Attributes: {
            RawMessageDelivery: 'true',
            ...(policy === undefined ? {} : { FilterPolicy: policy, FilterPolicyScope: 'MessageAttributes' }),
          },
        }),
      );
      return policy === undefined ? undefined : new Set(wanted);
    }
    const { Attributes: current = {} } = await clients.sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: subscriptionArn }),
    );
    const set = (name: string, value: string) =>
      clients.sns.send(
        new SetSubscriptionAttributesCommand({
          SubscriptionArn: subscriptionArn,
          AttributeName: name,
          AttributeValue: value,
        }),
      );
    if (current.RawMessageDelivery !== 'true') await set('RawMessageDelivery', 'true');
    const existing = policyTopics(current.FilterPolicy);
    // No policy lets everything through, and a policy of someone else's is theirs: both stay.
    if (existing === undefined) return undefined;
    const union = [...new Set([...existing, ...wanted])];
    const merged = pushdown ? topicPolicy(union) : undefined;
    if (merged === undefined) {
      await set('FilterPolicy', '');
      return undefined;
    }
    if (merged !== topicPolicy(existing)) await set('FilterPolicy', merged);
    return new Set(union);
  };

  const group = (channel: string, groupName: string, wanted: readonly string[]): Promise<GroupSetup> => {
    const name = names.queue(channel, groupName);
    // Consumers of one group with new topics widen the policy, so the key holds the topics too.
    const key = `${name}\u0000${[...new Set(wanted)].sort().join('\u0000')}`;
    return once(groups, key, async () => {
      const arn = await topicArn(channel);
      const url = await ensureQueue(name, fifo);
      try {
        const { Attributes: attributes = {} } = await clients.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ['QueueArn', 'FifoQueue', 'Policy'],
          }),
        );
        const queueArn = attributes.QueueArn;
        if (queueArn === undefined) throw new Error(`GetQueueAttributes returned no QueueArn for ${name}`);
        if ((attributes.FifoQueue === 'true') !== fifo)
          throw new TidingsError(
            'TIDINGS_INVALID_OPTIONS',
            `SQS queue ${name} is ${fifo ? 'a standard' : 'a FIFO'} queue, but the transport has fifo: ${fifo}. ` +
              'Use the same fifo setting as the transport that created it, or another prefix.',
          );
        await allowDelivery(url, queueArn, arn, attributes.Policy);
        const delivered = await subscribe(arn, queueArn, wanted);
        return { queueUrl: url, queueArn, topicArn: arn, delivered };
      } catch (error) {
        throw explain(`subscribe queue ${name} to topic ${names.topic(channel)}`, error);
      }
    });
  };

  let deadLetters: Promise<string> | undefined;
  const deadLetterQueue = (): Promise<string> => {
    deadLetters ??= ensureQueue(names.deadLetters, true);
    deadLetters.catch(() => {
      deadLetters = undefined;
    });
    return deadLetters;
  };

  return { topicArn, group, queueUrl, deadLetterQueue };
}
