import { DeleteTopicCommand, ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsTransport } from '@tidings/aws';

// The SDK says once per process that its releases after early 2027 need Node 22; the shop runs on 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** SNS and SQS on the endpoint of TIDINGS_AWS_ENDPOINT (default: the fauxqs emulator on loopback). */
export function shopOnAws(prefix: string) {
  const settings = {
    endpoint: process.env.TIDINGS_AWS_ENDPOINT ?? 'http://127.0.0.1:4566',
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'shop', secretAccessKey: 'shop' },
  };
  return {
    transport: awsTransport({ ...settings, prefix, deadLetterReadWaitSeconds: 0 }),
    where: `${settings.endpoint} topics and queues ${prefix}-*`,
    /** Deletes the run's topics and queues. */
    async cleanUp(): Promise<void> {
      const sqs = new SQSClient(settings);
      const sns = new SNSClient(settings);
      try {
        const queues = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000 }));
        for (const url of queues.QueueUrls ?? []) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
        let token: string | undefined;
        do {
          const page = await sns.send(new ListTopicsCommand({ NextToken: token }));
          for (const { TopicArn } of page.Topics ?? []) {
            if (TopicArn?.split(':').at(-1)?.startsWith(prefix) === true) {
              await sns.send(new DeleteTopicCommand({ TopicArn }));
            }
          }
          token = page.NextToken;
        } while (token !== undefined);
      } finally {
        sqs.destroy();
        sns.destroy();
      }
    },
  };
}
