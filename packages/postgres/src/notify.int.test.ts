import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { postgresTransport } from './transport.ts';
import { CONNECTION_STRING, serverUp } from './test-support/server.ts';

const schema = `notify_${randomBytes(4).toString('hex')}`;
const up = await serverUp();

if (up) {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: CONNECTION_STRING });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  test('a publish from another transport wakes an idle consumer through NOTIFY, not the poll', async () => {
    // A poll interval far longer than the test: only the notification can deliver in time.
    const consumerSide = postgresTransport({
      connectionString: CONNECTION_STRING,
      schema,
      pollIntervalMs: 60_000,
    });
    const publisherSide = postgresTransport({ connectionString: CONNECTION_STRING, schema });
    const received: string[] = [];
    await consumerSide.consume(
      {
        channel: 'pings',
        group: 'listeners',
        topics: ['Ping'],
        concurrency: 1,
        ordered: false,
        leaseMs: 30_000,
      },
      async (delivery) => {
        received.push(delivery.message.id);
        await delivery.ack();
      },
    );
    // Let the consumer go idle (its first look found nothing) and the LISTEN client connect.
    await sleep(300);
    const sentAt = Date.now();
    await publisherSide.publish('pings', [
      { id: 'ping-1', topic: 'Ping', headers: {}, body: new TextEncoder().encode('{}') },
    ]);
    while (received.length === 0 && Date.now() - sentAt < 5_000) await sleep(5);
    expect(received).toEqual(['ping-1']);
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    await Promise.all([consumerSide.close(), publisherSide.close()]);
  });
} else {
  test.skip('postgres LISTEN/NOTIFY (server missing, see the warning above)', () => {});
}
