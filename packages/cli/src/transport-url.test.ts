import { describe, expect, it } from 'vitest';
import type { CliError } from './errors.ts';
import { openTransportUrl, parseTransportUrl } from './transport-url.ts';

describe('parseTransportUrl', () => {
  it('maps each scheme onto its adapter, taking out the parameters that belong to Tidings', () => {
    expect(parseTransportUrl('postgres://app@db.internal:5432/shop?schema=events&sslmode=require')).toEqual({
      package: '@tidings/postgres',
      factory: 'postgresTransport',
      options: { connectionString: 'postgres://app@db.internal:5432/shop?sslmode=require', schema: 'events' },
    });
    expect(parseTransportUrl('postgresql://db/shop').factory).toBe('postgresTransport');
    expect(parseTransportUrl('redis://127.0.0.1:6379?prefix=shop')).toEqual({
      package: '@tidings/redis',
      factory: 'redisTransport',
      options: { url: 'redis://127.0.0.1:6379', prefix: 'shop' },
    });
    expect(parseTransportUrl('nats://127.0.0.1:4222').options).toEqual({ servers: 'nats://127.0.0.1:4222' });
    expect(parseTransportUrl('amqps://guest:guest@mq:5671/?prefix=shop')).toEqual({
      package: '@tidings/rabbitmq',
      factory: 'rabbitmqTransport',
      options: { url: 'amqps://guest:guest@mq:5671/', prefix: 'shop' },
    });
    expect(parseTransportUrl('sqlite:data/shop.db').options).toEqual({ file: 'data/shop.db' });
    expect(
      parseTransportUrl('aws://test:s%2Fcret@127.0.0.1:4566?region=us-east-1&prefix=shop&fifo=true'),
    ).toEqual({
      package: '@tidings/aws',
      factory: 'awsTransport',
      options: {
        endpoint: 'http://127.0.0.1:4566',
        credentials: { accessKeyId: 'test', secretAccessKey: 's/cret' },
        region: 'us-east-1',
        prefix: 'shop',
        fifo: true,
      },
    });
    expect(parseTransportUrl('sqs://?region=eu-west-1').options).toEqual({ region: 'eu-west-1' });
  });

  it('says which forms it accepts when given something else', () => {
    const refused = (text: string): CliError => {
      try {
        parseTransportUrl(text);
      } catch (error) {
        return error as CliError;
      }
      throw new Error(`${text} was accepted`);
    };
    expect(refused('kafka://broker:9092').message).toMatch(/kafka: is not a scheme.*postgres:\/\//);
    expect(refused('shop.db').message).toMatch(/is not a URL; give one of/);
    expect(refused('sqlite:').message).toMatch(/needs a file/);
    expect(refused('mqtt://x').exitCode).toBe(2);
  });

  it('opens the SQLite transport from a URL', async () => {
    const transport = await openTransportUrl('sqlite::memory:');
    expect(transport.name).toBe('sqlite');
    await transport.close();
  });
});
