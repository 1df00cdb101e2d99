import { describe, expect, it } from 'vitest';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AWS_DEFAULTS, checkConsumeOptions, resolveTransportOptions } from './options.ts';

const consume = {
  channel: 'parcels',
  group: 'billing',
  topics: ['ParcelScanned'],
  concurrency: 4,
  ordered: false,
  leaseMs: 30_000,
};

describe('resolveTransportOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveTransportOptions({})).toMatchObject({
      prefix: 'tidings',
      fifo: false,
      waitTimeSeconds: 20,
      deadLetterReadWaitSeconds: 1,
      filterPolicy: true,
      retryBudget: AWS_DEFAULTS.retryBudget,
      endpoint: undefined,
    });
  });

  it('lists every problem at once', () => {
    const bad = {
      region: 'US East',
      endpoint: 'localhost:4566',
      prefix: 'my.prefix',
      waitTimeSeconds: 30,
      fifo: 'yes',
      retryBudget: 0,
      colour: 'red',
    } as never;
    expect(() => resolveTransportOptions(bad)).toThrow(
      expect.objectContaining({
        code: 'TIDINGS_INVALID_OPTIONS',
        message: expect.stringMatching(
          /unknown option "colour"[\s\S]*region[\s\S]*endpoint must be an http\(s\) URL[\s\S]*prefix[\s\S]*fifo[\s\S]*waitTimeSeconds must be at most 20[\s\S]*retryBudget/,
        ) as unknown,
      }),
    );
  });

  it('refuses half a pair of clients, and connection options beside given clients', () => {
    const sqs = new SQSClient({ region: 'us-east-1' });
    try {
      expect(() => resolveTransportOptions({ sqs })).toThrow(/give both sqs and sns clients/);
      expect(() => resolveTransportOptions({ sqs, sns: sqs as never, region: 'eu-west-1' })).toThrow(
        /belong to the clients/,
      );
      expect(() => resolveTransportOptions({ sqs: {} as never, sns: {} as never })).toThrow(
        /sqs must be an SQSClient[\s\S]*sns must be an SNSClient/,
      );
    } finally {
      sqs.destroy();
    }
  });

  it('refuses credentials without a secret, and a prefix too long for queue names', () => {
    expect(() =>
      resolveTransportOptions({ credentials: { accessKeyId: 'a' } as never, prefix: 'p'.repeat(41) }),
    ).toThrow(/credentials must be[\s\S]*prefix must be at most 40/);
  });
});

describe('checkConsumeOptions', () => {
  it('accepts a plain consumer', () => {
    expect(() => checkConsumeOptions(consume, () => Promise.resolve(), false)).not.toThrow();
  });

  it('refuses ordered consumers unless the transport is FIFO', () => {
    const ordered = { ...consume, ordered: true };
    expect(() => checkConsumeOptions(ordered, () => Promise.resolve(), false)).toThrow(/fifo: true/);
    expect(() => checkConsumeOptions(ordered, () => Promise.resolve(), true)).not.toThrow();
  });

  it('refuses a lease longer than the 12 hours SQS can keep a message invisible', () => {
    expect(() =>
      checkConsumeOptions({ ...consume, leaseMs: 13 * 3_600_000 }, () => Promise.resolve(), false),
    ).toThrow(/leaseMs must be at most 43200000, SQS's longest visibility timeout/);
  });
});
