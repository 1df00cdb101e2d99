import { expect, test } from 'vitest';
import * as aws from './index.ts';

test('exports exactly these names, so every addition is a deliberate diff', () => {
  expect(Object.keys(aws).sort()).toEqual([
    'AWS_CAPABILITIES',
    'AWS_DEFAULTS',
    'AWS_FIFO_CAPABILITIES',
    'AWS_MAX_MESSAGE_BYTES',
    'awsTransport',
  ]);
});

test('declares leases, delays and a broker counter; order and deduplication only with FIFO', () => {
  const common = {
    persistent: true,
    consumerGroups: true,
    delayedDelivery: true,
    deliveryCounter: true,
    leases: true,
    maxMessageBytes: 240 * 1024,
  };
  expect(aws.AWS_CAPABILITIES).toEqual({ ...common, ordering: 'none', duplicates: 'possible' });
  expect(aws.AWS_FIFO_CAPABILITIES).toEqual({
    ...common,
    ordering: 'per-subject',
    duplicates: 'only-after-failure',
  });
});
