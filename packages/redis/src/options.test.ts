import { describe, expect, it } from 'vitest';
import { checkConsumeOptions, REDIS_DEFAULTS, resolveTransportOptions } from './options.ts';
import { REDIS_PUBSUB_DEFAULTS, resolvePubSubOptions } from './pubsub-options.ts';

describe('resolveTransportOptions', () => {
  it('fills in the defaults', () => {
    const resolved = resolveTransportOptions({});
    expect(resolved).toMatchObject({
      url: REDIS_DEFAULTS.url,
      prefix: 'tidings',
      blockMs: 100,
      commandTimeoutMs: 2000,
    });
    expect(resolved.maxLength).toBeUndefined();
  });

  it('lists every problem at once', () => {
    const bad = { prefix: '', blockMs: 0, maxLength: 1.5, colour: 'red' } as never;
    expect(() => resolveTransportOptions(bad)).toThrow(
      expect.objectContaining({
        code: 'TIDINGS_INVALID_OPTIONS',
        message: expect.stringMatching(/prefix[\s\S]*blockMs[\s\S]*maxLength/) as unknown,
      }),
    );
    expect(() => resolveTransportOptions(bad)).toThrow(/unknown option "colour"/);
  });
});

describe('checkConsumeOptions', () => {
  const valid = { channel: 'c', group: 'g', topics: ['T'], concurrency: 1, ordered: false, leaseMs: 1000 };

  it('accepts a valid request', () => {
    expect(() => checkConsumeOptions(valid, () => Promise.resolve())).not.toThrow();
  });

  it('refuses ordered delivery, which Redis Streams cannot keep', () => {
    expect(() => checkConsumeOptions({ ...valid, ordered: true }, () => Promise.resolve())).toThrow(
      /ordered delivery is not supported/,
    );
  });

  it('refuses empty topics and a missing handler', () => {
    expect(() => checkConsumeOptions({ ...valid, topics: [] }, undefined)).toThrow(
      /handler must be a function[\s\S]*topics must be a non-empty array/,
    );
  });
});

describe('resolvePubSubOptions', () => {
  it('fills in the defaults', () => {
    expect(resolvePubSubOptions({})).toMatchObject({
      url: REDIS_PUBSUB_DEFAULTS.url,
      prefix: 'tidings',
      maxBuffered: 10_000,
      commandTimeoutMs: 2000,
    });
  });

  it('lists every problem at once, naming the Pub/Sub transport', () => {
    const bad = { prefix: 7, maxBuffered: 0, blockMs: 5 } as never;
    expect(() => resolvePubSubOptions(bad)).toThrow(
      /redisPubSubTransport[\s\S]*unknown option "blockMs"[\s\S]*prefix[\s\S]*maxBuffered/,
    );
  });
});
