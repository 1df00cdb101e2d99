import { GetSubscriptionAttributesCommand, ListSubscriptionsByTopicCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, ListQueuesCommand } from '@aws-sdk/client-sqs';
import type { DoctorFinding } from '@tidings/core';
import type { Clients } from './client.ts';
import type { Names } from './mapping.ts';
import type { Topology } from './topology.ts';
import { policyStatements } from './topology.ts';

/** A group whose queue the doctor checks. */
export interface AwsDoctorGroup {
  readonly channel: string;
  readonly group: string;
}

/** Options of `transport.doctor()`. */
export interface AwsDoctorOptions {
  /** More groups to check, besides those this transport consumed. */
  readonly groups?: readonly AwsDoctorGroup[];
  /** The longest a handler may run (the bus's `timeoutMs`); a queue's visibility timeout should exceed it. */
  readonly handlerTimeoutMs?: number;
}

/** What the doctor needs. @internal */
export interface DoctorContext {
  readonly clients: Clients;
  readonly names: Names;
  readonly topology: Topology;
  readonly fifo: boolean;
  readonly retryBudget: number;
  readonly known: () => readonly AwsDoctorGroup[];
}

const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** The bus's default handler timeout, for the visibility check when none is given. */
const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;

/** The redrive policy's `maxReceiveCount`, when the queue has one. @internal */
export function maxReceiveCount(redrivePolicy: string | undefined): number | undefined {
  if (redrivePolicy === undefined || redrivePolicy === '') return undefined;
  try {
    const value = Number((JSON.parse(redrivePolicy) as { maxReceiveCount?: unknown }).maxReceiveCount);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a queue policy lets SNS deliver from `topicArn`. @internal */
export function allowsDelivery(policy: string | undefined, topicArn: string): boolean {
  return policyStatements(policy).some((statement) => {
    if (statement.Effect !== 'Allow') return false;
    const principal = statement.Principal as { Service?: unknown } | string | undefined;
    const service = typeof principal === 'object' ? principal.Service : principal;
    const services = Array.isArray(service) ? service : [service];
    if (!services.includes('sns.amazonaws.com') && !services.includes('*')) return false;
    const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    if (!actions.some((a) => a === 'sqs:SendMessage' || a === 'sqs:*' || a === '*')) return false;
    const condition = JSON.stringify(statement.Condition ?? {});
    return statement.Condition === undefined || condition.includes(topicArn);
  });
}

async function groupFindings(
  context: DoctorContext,
  { channel, group }: AwsDoctorGroup,
  handlerTimeoutMs: number,
): Promise<DoctorFinding[]> {
  const { clients, names, retryBudget } = context;
  const queue = names.queue(channel, group);
  const url = await context.topology.queueUrl(queue);
  if (url === undefined)
    return [
      {
        check: 'aws.group-queue',
        level: 'warn',
        message: `queue ${queue} (group ${group} on channel ${channel}) does not exist yet`,
        fix: 'start a consumer of the group; it creates the queue, and messages published before that are not kept for it',
      },
    ];
  const { Attributes: a = {} } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
  );
  const findings: DoctorFinding[] = [];
  const isFifo = a.FifoQueue === 'true';
  findings.push(
    isFifo === context.fifo
      ? {
          check: 'aws.group-queue',
          level: 'ok',
          message: `queue ${queue} is a ${isFifo ? 'FIFO' : 'standard'} queue`,
        }
      : {
          check: 'aws.group-queue',
          level: 'fail',
          message: `queue ${queue} is ${isFifo ? 'FIFO' : 'standard'}, the transport is ${context.fifo ? 'FIFO' : 'standard'}`,
          fix: 'use the same fifo setting everywhere, or another prefix',
        },
  );
  const limit = maxReceiveCount(a.RedrivePolicy);
  findings.push(
    limit === undefined
      ? {
          check: 'aws.redrive',
          level: 'ok',
          message: `queue ${queue} has no redrive policy; the bus dead-letters`,
        }
      : limit < retryBudget
        ? {
            check: 'aws.redrive',
            level: 'fail',
            message: `queue ${queue} moves messages away after ${limit} receives, below the retry budget of ${retryBudget}`,
            fix: `SQS moves a message to its redrive queue before the bus can retry it and keep it as a dead letter; set maxReceiveCount above ${retryBudget} (a last resort), or remove the redrive policy`,
          }
        : {
            check: 'aws.redrive',
            level: 'ok',
            message: `queue ${queue} redrives after ${limit} receives, above the retry budget of ${retryBudget}`,
          },
  );
  const visibilityMs = Number(a.VisibilityTimeout ?? 30) * 1000;
  findings.push(
    visibilityMs < handlerTimeoutMs
      ? {
          check: 'aws.visibility-timeout',
          level: 'warn',
          message: `queue ${queue} has a visibility timeout of ${visibilityMs / 1000} s, shorter than the handler timeout of ${handlerTimeoutMs} ms`,
          fix: 'Tidings passes the lease on each receive and extends it while a handler runs, but anything else reading the queue uses this default; set VisibilityTimeout above the handler timeout',
        }
      : {
          check: 'aws.visibility-timeout',
          level: 'ok',
          message: `queue ${queue} has a visibility timeout of ${visibilityMs / 1000} s`,
        },
  );
  const [partition = 'aws', , region = '', account = ''] = (a.QueueArn ?? '').split(':').slice(1);
  const topicArn = `arn:${partition}:sns:${region}:${account}:${names.topic(channel)}`;
  findings.push(
    allowsDelivery(a.Policy, topicArn)
      ? { check: 'aws.queue-policy', level: 'ok', message: `queue ${queue} lets ${topicArn} deliver` }
      : {
          check: 'aws.queue-policy',
          level: 'fail',
          message: `queue ${queue} has no policy letting SNS topic ${topicArn} send to it`,
          fix: 'on AWS, SNS cannot deliver without it (emulators do not check); start a consumer of the group, which adds the statement, or add an Allow for sns.amazonaws.com, sqs:SendMessage, aws:SourceArn = the topic',
        },
  );
  findings.push(await subscriptionFinding(context, topicArn, a.QueueArn ?? '', queue));
  return findings;
}

async function subscriptionFinding(
  context: DoctorContext,
  topicArn: string,
  queueArn: string,
  queue: string,
): Promise<DoctorFinding> {
  const check = 'aws.subscription';
  try {
    let token: string | undefined;
    let arn: string | undefined;
    do {
      const page = await context.clients.sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: token }),
      );
      arn = page.Subscriptions?.find((s) => s.Endpoint === queueArn)?.SubscriptionArn;
      token = page.NextToken;
    } while (arn === undefined && token !== undefined);
    if (arn === undefined)
      return {
        check,
        level: 'fail',
        message: `queue ${queue} is not subscribed to ${topicArn}`,
        fix: 'start a consumer of the group; it subscribes the queue',
      };
    const { Attributes: s = {} } = await context.clients.sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: arn }),
    );
    if (s.RawMessageDelivery !== 'true')
      return {
        check,
        level: 'fail',
        message: `the subscription of ${queue} does not use raw message delivery`,
        fix: 'set RawMessageDelivery to true; otherwise every message arrives wrapped in an SNS envelope',
      };
    return {
      check,
      level: 'ok',
      message: `queue ${queue} is subscribed with raw delivery${s.FilterPolicy ? ` and filter policy ${s.FilterPolicy}` : ', without a filter policy'}`,
    };
  } catch (error) {
    return {
      check,
      level: 'fail',
      message: `cannot read the subscriptions of ${topicArn} (${errorText(error)})`,
    };
  }
}

async function deadLetterFindings(context: DoctorContext): Promise<DoctorFinding[]> {
  const check = 'aws.dead-letters';
  const queue = context.names.deadLetters;
  const url = await context.topology.queueUrl(queue);
  if (url === undefined)
    return [{ check, level: 'ok', message: `${queue} will be created with the first dead letter` }];
  const { Attributes: a = {} } = await context.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
  );
  const findings: DoctorFinding[] = [];
  if (a.FifoQueue !== 'true')
    findings.push({
      check,
      level: 'fail',
      message: `${queue} is not a FIFO queue`,
      fix: 'delete it; the transport creates it again',
    });
  if (maxReceiveCount(a.RedrivePolicy) !== undefined)
    findings.push({
      check,
      level: 'fail',
      message: `${queue} has a redrive policy`,
      fix: 'every read of the dead letters receives them all, so a redrive policy moves them away after a few reads; remove it',
    });
  const retention = Number(a.MessageRetentionPeriod ?? 0);
  if (retention < 1_209_600)
    findings.push({
      check,
      level: 'warn',
      message: `${queue} keeps messages ${retention} s, less than 14 days`,
      fix: 'set MessageRetentionPeriod to 1209600; reads renew dead letters older than 7 days',
    });
  if (findings.length === 0)
    findings.push({
      check,
      level: 'ok',
      message: `${queue} is a FIFO queue keeping about ${a.ApproximateNumberOfMessages ?? '?'} dead letters for 14 days (renewed by each read after 7)`,
    });
  return findings;
}

/**
 * The doctor's checks: the connection, each known group's queue (FIFO setting, redrive policy against
 * the retry budget, visibility timeout against the handler timeout, the queue policy SNS needs, the
 * subscription), and the dead-letter queue. Reads only.
 *
 * @internal
 */
export async function runChecks(context: DoctorContext, options: AwsDoctorOptions): Promise<DoctorFinding[]> {
  try {
    await context.clients.sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: context.names.deadLetters, MaxResults: 1 }),
    );
  } catch (error) {
    return [
      {
        check: 'aws.connection',
        level: 'fail',
        message: errorText(error),
        fix: 'check the endpoint, region and credentials',
      },
    ];
  }
  const findings: DoctorFinding[] = [{ check: 'aws.connection', level: 'ok', message: 'SQS answers' }];
  const seen = new Set<string>();
  const handlerTimeoutMs = options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  for (const group of [...context.known(), ...(options.groups ?? [])]) {
    const queue = context.names.queue(group.channel, group.group);
    if (seen.has(queue)) continue;
    seen.add(queue);
    try {
      findings.push(...(await groupFindings(context, group, handlerTimeoutMs)));
    } catch (error) {
      findings.push({
        check: 'aws.group-queue',
        level: 'fail',
        message: `cannot read queue ${queue} (${errorText(error)})`,
      });
    }
  }
  if (seen.size === 0)
    findings.push({
      check: 'aws.group-queue',
      level: 'warn',
      message: 'no group queue was checked: this transport has no consumer yet',
      fix: 'pass the groups to check: transport.doctor({ groups: [{ channel, group }] })',
    });
  try {
    findings.push(...(await deadLetterFindings(context)));
  } catch (error) {
    findings.push({
      check: 'aws.dead-letters',
      level: 'fail',
      message: `cannot read the dead-letter queue (${errorText(error)})`,
    });
  }
  return findings;
}
