import { randomUUID } from 'node:crypto';
import { DeleteTopicCommand, ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { serverAvailable } from '@tidings/core/testing';

// The SDK warns once per process that its releases after early 2027 need Node 22; tests run on 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The SNS/SQS endpoint the integration tests use (the fauxqs emulator). @internal */
export const AWS_TEST_ENDPOINT = process.env.TIDINGS_AWS_ENDPOINT ?? 'http://127.0.0.1:4566';

/** Options that point a transport at the test endpoint, with dummy credentials. @internal */
export const AWS_TEST_OPTIONS = {
  endpoint: AWS_TEST_ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
} as const;

/** SDK clients on the test endpoint, for setting things up and cleaning up. @internal */
export function testClients(): { sqs: SQSClient; sns: SNSClient } {
  return { sqs: new SQSClient(AWS_TEST_OPTIONS), sns: new SNSClient(AWS_TEST_OPTIONS) };
}

/**
 * Whether the emulator answers (core's `serverAvailable`): one loud line saying how to start it when it
 * does not, and a failure when `CI=true`. @internal
 */
export function awsAvailable(): Promise<boolean> {
  return serverAvailable({
    tests: '@tidings/aws',
    server: `an SNS/SQS endpoint at ${AWS_TEST_ENDPOINT}`,
    start:
      'Start the fauxqs emulator with `bash .ci/fauxqs/ensure.sh`, or set TIDINGS_AWS_ENDPOINT to use another.',
    probe: async () => {
      const sqs = new SQSClient({ ...AWS_TEST_OPTIONS, maxAttempts: 1 });
      try {
        await sqs.send(new ListQueuesCommand({ MaxResults: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
      } finally {
        sqs.destroy();
      }
    },
  });
}

/** A prefix per test file, and a fresh one per transport under it, so one cleanup finds everything. @internal */
export function prefixes(name: string): { readonly root: string; next(): string } {
  const root = `tt-${name}-${randomUUID().slice(0, 6)}`;
  let n = 0;
  return { root, next: () => `${root}-${((n += 1)).toString(36)}` };
}

/** Deletes every queue and topic whose name starts with `root`. @internal */
export async function deleteUnder(root: string): Promise<void> {
  const { sqs, sns } = testClients();
  try {
    let token: string | undefined;
    do {
      const page = await sqs.send(
        new ListQueuesCommand({ QueueNamePrefix: root, MaxResults: 1000, NextToken: token }),
      );
      for (const url of page.QueueUrls ?? []) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
      token = page.NextToken;
    } while (token !== undefined);
    token = undefined;
    do {
      const page: {
        Topics?: { TopicArn?: string | undefined }[] | undefined;
        NextToken?: string | undefined;
      } = await sns.send(new ListTopicsCommand({ NextToken: token }));
      for (const { TopicArn } of page.Topics ?? [])
        if (TopicArn?.split(':').at(-1)?.startsWith(root) === true)
          await sns.send(new DeleteTopicCommand({ TopicArn }));
      token = page.NextToken;
    } while (token !== undefined);
  } finally {
    sqs.destroy();
    sns.destroy();
  }
}
