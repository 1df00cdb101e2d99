import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  checkConsumeOptions as checkCommonConsumeOptions,
  checkOptions,
  consoleErrorReporter,
  DEFAULT_RETRY,
  describeValue,
  numberProblem,
  systemClock,
} from '@tidings/core';
import type { Clock, ConsumeOptions, ErrorReportContext } from '@tidings/core';

/** Where an error reported to `onError` happened. */
export interface AwsErrorContext extends ErrorReportContext {
  /**
   * `handler`: a handler threw (the delivery is nacked); `receive`: a ReceiveMessage call failed (it is
   * retried with backoff); `settle`: a delete or visibility change failed (the lease runs out and the
   * message comes back); `release`: a message could not be handed back on close.
   */
  readonly where: 'handler' | 'receive' | 'settle' | 'release';
}

/** Static credentials; anything else the SDK accepts (a provider function) works too. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Options of {@link awsTransport}. */
export interface AwsTransportOptions {
  /** The AWS region (default `AWS_REGION`, then `us-east-1`). */
  readonly region?: string;
  /** One endpoint for SNS and SQS, such as an emulator's `http://127.0.0.1:4566` (default: AWS's own). */
  readonly endpoint?: string;
  /** Credentials (default: the SDK's default provider chain: environment, profile, instance role…). */
  readonly credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** A ready SQS client to use instead of making one; the transport does not destroy it on close. */
  readonly sqs?: SQSClient;
  /** A ready SNS client to use instead of making one; the transport does not destroy it on close. */
  readonly sns?: SNSClient;
  /** Namespace of every topic and queue the transport creates (default `tidings`). */
  readonly prefix?: string;
  /**
   * FIFO topics and queues: messages with the same subject are delivered in publish order, one at a
   * time (default `false`: standard topics and queues, no order, more throughput).
   */
  readonly fifo?: boolean;
  /** Where dead-letter times come from, and leases are measured (default the system clock). */
  readonly clock?: Clock;
  /** Long polling: how long one ReceiveMessage waits for messages, 1–20 s (default 20). */
  readonly waitTimeSeconds?: number;
  /**
   * How long the last receive of a dead-letter read waits for stragglers, 0–20 s (default 1). SQS
   * answers a receive that waits from every server, one that does not from a sample, so a read that
   * ends on a short poll may miss dead letters on AWS; an emulator answers exactly, and 0 is fine there.
   */
  readonly deadLetterReadWaitSeconds?: number;
  /**
   * Push each subscription's topics down to SNS as a filter policy, so unwanted messages never reach
   * the queue (default `true`). When `false`, or when the topics do not fit a policy, the consumer
   * drops them itself.
   */
  readonly filterPolicy?: boolean;
  /**
   * Deliveries the bus may make of one message before it gives up (default `DEFAULT_RETRY.delays.length
   * + 3`, the bus's default `maxDeliveries`). Only the doctor reads it: a redrive policy's
   * `maxReceiveCount` below it moves messages away before the bus can dead-letter them.
   */
  readonly retryBudget?: number;
  /** Receives errors the transport survived (default: `console.error`). */
  readonly onError?: (error: unknown, context: AwsErrorContext) => void;
}

/** The options with every default filled in. @internal */
export interface ResolvedTransportOptions {
  readonly region: string;
  readonly endpoint: string | undefined;
  readonly credentials: AwsTransportOptions['credentials'];
  readonly sqs: SQSClient | undefined;
  readonly sns: SNSClient | undefined;
  readonly prefix: string;
  readonly fifo: boolean;
  readonly clock: Clock;
  readonly waitTimeSeconds: number;
  readonly deadLetterReadWaitSeconds: number;
  readonly filterPolicy: boolean;
  readonly retryBudget: number;
  readonly onError: (error: unknown, context: AwsErrorContext) => void;
}

/** Defaults of {@link AwsTransportOptions}. */
export const AWS_DEFAULTS = {
  region: 'us-east-1',
  prefix: 'tidings',
  fifo: false,
  waitTimeSeconds: 20,
  deadLetterReadWaitSeconds: 1,
  filterPolicy: true,
  retryBudget: DEFAULT_RETRY.delays.length + 3,
} as const;

const KEYS = new Set([
  'region',
  'endpoint',
  'credentials',
  'sqs',
  'sns',
  'prefix',
  'fifo',
  'clock',
  'waitTimeSeconds',
  'deadLetterReadWaitSeconds',
  'filterPolicy',
  'retryBudget',
  'onError',
]);

/** The longest SQS queue name, and the characters SNS and SQS accept in names. */
export const MAX_QUEUE_NAME = 80;
const NAME_CHARS = /^[A-Za-z0-9_-]+$/;

const defaultOnError = consoleErrorReporter('@tidings/aws');

function prefixProblem(prefix: unknown): string | undefined {
  if (prefix === undefined) return undefined;
  if (typeof prefix !== 'string' || !NAME_CHARS.test(prefix))
    return `prefix must be letters, digits, "-" or "_", as SNS and SQS names allow (got ${describeValue(prefix)})`;
  if (prefix.length > 40)
    return 'prefix must be at most 40 characters, to leave room for channel and group in 80-character queue names';
  return undefined;
}

function clientProblems(raw: Record<string, unknown>): (string | undefined)[] {
  const isClient = (value: unknown): boolean =>
    typeof value === 'object' && value !== null && typeof (value as { send?: unknown }).send === 'function';
  const problems: (string | undefined)[] = [
    raw.sqs === undefined || isClient(raw.sqs)
      ? undefined
      : `sqs must be an SQSClient from @aws-sdk/client-sqs (got ${describeValue(raw.sqs)})`,
    raw.sns === undefined || isClient(raw.sns)
      ? undefined
      : `sns must be an SNSClient from @aws-sdk/client-sns (got ${describeValue(raw.sns)})`,
  ];
  if ((raw.sqs === undefined) !== (raw.sns === undefined))
    problems.push('give both sqs and sns clients, or neither (the transport then makes both)');
  if (raw.sqs !== undefined && (raw.endpoint ?? raw.region ?? raw.credentials) !== undefined)
    problems.push('endpoint, region and credentials belong to the clients when sqs and sns are given');
  return problems;
}

/**
 * Checks every option and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveTransportOptions(options: AwsTransportOptions = {}): ResolvedTransportOptions {
  checkOptions('awsTransport', options, {
    known: KEYS,
    example: "{ region: 'us-east-1', prefix: 'shop' }",
    problems: (raw) => [
      raw.region === undefined || (typeof raw.region === 'string' && /^[a-z0-9-]+$/.test(raw.region))
        ? undefined
        : `region must be an AWS region name such as "us-east-1" (got ${describeValue(raw.region)})`,
      raw.endpoint === undefined ||
      (typeof raw.endpoint === 'string' && /^https?:\/\/\S+$/.test(raw.endpoint))
        ? undefined
        : `endpoint must be an http(s) URL such as "http://127.0.0.1:4566" (got ${describeValue(raw.endpoint)})`,
      raw.credentials === undefined ||
      typeof raw.credentials === 'function' ||
      (typeof raw.credentials === 'object' &&
        raw.credentials !== null &&
        typeof (raw.credentials as { accessKeyId?: unknown }).accessKeyId === 'string' &&
        typeof (raw.credentials as { secretAccessKey?: unknown }).secretAccessKey === 'string')
        ? undefined
        : 'credentials must be { accessKeyId, secretAccessKey, sessionToken? } or a function returning them',
      ...clientProblems(raw),
      prefixProblem(raw.prefix),
      raw.fifo === undefined || typeof raw.fifo === 'boolean'
        ? undefined
        : `fifo must be a boolean (got ${describeValue(raw.fifo)})`,
      raw.filterPolicy === undefined || typeof raw.filterPolicy === 'boolean'
        ? undefined
        : `filterPolicy must be a boolean (got ${describeValue(raw.filterPolicy)})`,
      numberProblem('waitTimeSeconds', raw.waitTimeSeconds, {
        min: 1,
        max: 20,
        integer: true,
        maxReason: "SQS's longest long poll",
      }),
      numberProblem('deadLetterReadWaitSeconds', raw.deadLetterReadWaitSeconds, {
        min: 0,
        max: 20,
        integer: true,
      }),
      numberProblem('retryBudget', raw.retryBudget, { min: 1, integer: true }),
    ],
  });
  return {
    region: options.region ?? process.env.AWS_REGION ?? AWS_DEFAULTS.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    sqs: options.sqs,
    sns: options.sns,
    prefix: options.prefix ?? AWS_DEFAULTS.prefix,
    fifo: options.fifo ?? AWS_DEFAULTS.fifo,
    clock: options.clock ?? systemClock,
    waitTimeSeconds: options.waitTimeSeconds ?? AWS_DEFAULTS.waitTimeSeconds,
    deadLetterReadWaitSeconds: options.deadLetterReadWaitSeconds ?? AWS_DEFAULTS.deadLetterReadWaitSeconds,
    filterPolicy: options.filterPolicy ?? AWS_DEFAULTS.filterPolicy,
    retryBudget: options.retryBudget ?? AWS_DEFAULTS.retryBudget,
    onError: options.onError ?? defaultOnError,
  };
}

/** The longest lease SQS can keep: a visibility timeout of 12 hours. */
export const MAX_LEASE_MS = 12 * 60 * 60 * 1000;

/**
 * Checks what a consumer asks for, and its handler: the common checks, then what SQS allows.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function checkConsumeOptions(options: ConsumeOptions, handler: unknown, fifo: boolean): void {
  checkCommonConsumeOptions('awsTransport.consume', options, handler, {
    concurrency: { min: 1, max: 1_000, integer: true },
    leaseMs: {
      min: 1,
      max: MAX_LEASE_MS,
      integer: true,
      maxReason: "SQS's longest visibility timeout (12 h)",
    },
    ...(fifo ? {} : { orderedNotSupportedBy: 'the aws transport without fifo: true' }),
  });
}
