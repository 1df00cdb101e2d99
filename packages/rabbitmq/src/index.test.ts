import { expect, test } from 'vitest';
import * as rabbitmq from './index.ts';

test('exports exactly these names, so every addition is a deliberate diff', () => {
  expect(Object.keys(rabbitmq).sort()).toEqual([
    'RABBITMQ_CAPABILITIES',
    'RABBITMQ_DEFAULTS',
    'RABBITMQ_MAX_MESSAGE_BYTES',
    'rabbitmqTransport',
  ]);
});

test('declares what RabbitMQ can keep: groups, delays and a crash-proof counter, but no leases or order', () => {
  expect(rabbitmq.RABBITMQ_CAPABILITIES).toEqual({
    persistent: true,
    consumerGroups: true,
    ordering: 'none',
    delayedDelivery: true,
    deliveryCounter: true,
    leases: false,
    duplicates: 'only-after-failure',
    maxMessageBytes: 64 * 1024 * 1024,
  });
});
