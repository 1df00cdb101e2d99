import { describe, expect, it } from 'vitest';
import { checkConsumeOptions, NATS_DEFAULTS, resolveTransportOptions } from './options.ts';

describe('resolveTransportOptions', () => {
  it('fills in the defaults', () => {
    const resolved = resolveTransportOptions({ servers: 'nats://127.0.0.1:4222' });
    expect(resolved).toMatchObject({
      servers: ['nats://127.0.0.1:4222'],
      prefix: 'tidings',
      name: 'tidings',
      replicas: 1,
      duplicateWindowMs: NATS_DEFAULTS.duplicateWindowMs,
      fetchExpiresMs: 1_000,
      maxMessageBytes: 983_040,
    });
    expect(resolved.maxAgeMs).toBeUndefined();
  });

  it('takes a list of servers', () => {
    expect(resolveTransportOptions({ servers: ['nats://a:4222', 'nats://b:4222'] }).servers).toEqual([
      'nats://a:4222',
      'nats://b:4222',
    ]);
  });

  it('needs servers or a connection', () => {
    expect(() => resolveTransportOptions({})).toThrow(/servers is required/);
  });

  it('lists every problem at once', () => {
    const bad = {
      servers: [],
      prefix: 'has.dot',
      replicas: 7,
      fetchExpiresMs: 500,
      maxAckPending: 0,
      colour: 'red',
    } as never;
    expect(() => resolveTransportOptions(bad)).toThrow(
      expect.objectContaining({
        code: 'TIDINGS_INVALID_OPTIONS',
        message: expect.stringMatching(
          /unknown option "colour"[\s\S]*servers must be[\s\S]*prefix must be[\s\S]*replicas must be at most 5, JetStream's limit[\s\S]*maxAckPending[\s\S]*fetchExpiresMs must be an integer >= 1000/,
        ) as unknown,
      }),
    );
  });

  it('refuses something that is not a connection', () => {
    expect(() => resolveTransportOptions({ connection: {} as never })).toThrow(
      /connection must be a NatsConnection/,
    );
  });
});

describe('checkConsumeOptions', () => {
  const valid = { channel: 'c', group: 'g', topics: ['T'], concurrency: 1, ordered: false, leaseMs: 1000 };

  it('accepts a valid request', () => {
    expect(() => checkConsumeOptions(valid, () => Promise.resolve())).not.toThrow();
  });

  it('refuses ordered delivery, which the transport does not keep', () => {
    expect(() => checkConsumeOptions({ ...valid, ordered: true }, () => Promise.resolve())).toThrow(
      /ordered delivery is not supported/,
    );
  });

  it('refuses empty topics, a zero lease and a missing handler', () => {
    expect(() => checkConsumeOptions({ ...valid, topics: [], leaseMs: 0 }, undefined)).toThrow(
      /handler must be a function[\s\S]*topics must be a non-empty array[\s\S]*leaseMs must be/,
    );
  });

  it('keeps names short and the lease whole, as JetStream names and ack waits need', () => {
    expect(() =>
      checkConsumeOptions({ ...valid, group: 'g'.repeat(101), leaseMs: 1.5 }, () => Promise.resolve()),
    ).toThrow(
      /group must be a string of 1-100 characters[\s\S]*leaseMs must be an integer >= 1 \(got 1\.5\)/,
    );
  });
});
