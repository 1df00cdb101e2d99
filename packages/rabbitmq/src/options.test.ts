import { describe, expect, it } from 'vitest';
import { checkConsumeOptions, RABBITMQ_DEFAULTS, resolveTransportOptions } from './options.ts';

describe('resolveTransportOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveTransportOptions({})).toMatchObject({
      url: RABBITMQ_DEFAULTS.url,
      prefix: 'tidings',
      confirmTimeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      reconnectDelayMs: 100,
      reconnectMaxDelayMs: 5_000,
      retryBudget: 6,
    });
  });

  it('never lets the longest reconnect pause be shorter than the first', () => {
    expect(resolveTransportOptions({ reconnectDelayMs: 2_000, reconnectMaxDelayMs: 500 })).toMatchObject({
      reconnectDelayMs: 2_000,
      reconnectMaxDelayMs: 2_000,
    });
  });

  it('lists every problem at once', () => {
    const bad = {
      url: 'http://x',
      prefix: '',
      confirmTimeoutMs: 0,
      retryBudget: 1.5,
      colour: 'red',
    } as never;
    expect(() => resolveTransportOptions(bad)).toThrow(
      expect.objectContaining({
        code: 'TIDINGS_INVALID_OPTIONS',
        message: expect.stringMatching(
          /unknown option "colour"[\s\S]*url must be an AMQP URL[\s\S]*prefix[\s\S]*confirmTimeoutMs[\s\S]*retryBudget/,
        ) as unknown,
      }),
    );
  });

  it('refuses a prefix RabbitMQ reserves, a clock without now() and an onError that is no function', () => {
    const bad = { prefix: 'amq.mine', clock: {}, onError: 'log' } as never;
    expect(() => resolveTransportOptions(bad)).toThrow(
      /"amq\."[\s\S]*clock must have now\(\)[\s\S]*onError must be a function/,
    );
  });

  it('refuses options that are not an object', () => {
    expect(() => resolveTransportOptions('amqp://x' as never)).toThrow(/options must be an object/);
  });
});

describe('checkConsumeOptions', () => {
  const valid = { channel: 'c', group: 'g', topics: ['T'], concurrency: 1, ordered: false, leaseMs: 1000 };
  const handler = (): Promise<void> => Promise.resolve();

  it('accepts a valid request', () => {
    expect(() => checkConsumeOptions(valid, handler, 'tidings')).not.toThrow();
  });

  it('refuses ordered delivery, which the transport does not keep', () => {
    expect(() => checkConsumeOptions({ ...valid, ordered: true }, handler, 'tidings')).toThrow(
      /ordered delivery is not supported/,
    );
  });

  it('refuses topics a topic exchange would read as wildcards', () => {
    expect(() =>
      checkConsumeOptions({ ...valid, topics: ['order.*', 'a.#.b', 'ok.topic'] }, handler, 'tidings'),
    ).toThrow(/"order\.\*" has a "\*" or "#" word[\s\S]*"a\.#\.b"/);
  });

  it('refuses queue names longer than RabbitMQ allows, and channels that start with "~"', () => {
    expect(() => checkConsumeOptions({ ...valid, group: 'g'.repeat(250) }, handler, 'tidings')).toThrow(
      /would exceed 255 bytes/,
    );
    expect(() => checkConsumeOptions({ ...valid, channel: '~delay' }, handler, 'tidings')).toThrow(
      /must not start with "~"/,
    );
  });

  it('refuses empty topics, a missing handler and a prefetch RabbitMQ cannot take', () => {
    expect(() =>
      checkConsumeOptions({ ...valid, topics: [], concurrency: 70_000 }, undefined, 'tidings'),
    ).toThrow(/handler must be a function[\s\S]*topics must be a non-empty array[\s\S]*at most 65535/);
  });

  it('still checks wildcard topics when the channel itself is refused', () => {
    expect(() => checkConsumeOptions({ ...valid, channel: '', topics: ['a.*'] }, handler, 'tidings')).toThrow(
      /channel must be a non-empty string[\s\S]*"a\.\*" has a "\*" or "#" word/,
    );
  });
});
