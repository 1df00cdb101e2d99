import { Queue, Worker } from 'bullmq';
import { createClient } from 'redis';
import { chunks, counter, makeEvent, within } from './common.ts';

const DRAIN_LIMIT_MS = 60_000;

/**
 * Time, in ms, for a BullMQ Worker with `concurrency` to process `count` jobs added beforehand (the
 * event's data as the job's data, `removeOnComplete` so that completed jobs cost nothing to keep).
 * BullMQ gets node-redis clients of its own: it needs no ioredis when handed a client instance.
 */
export async function bullmqJobs(
  url: string,
  prefix: string,
  count: number,
  concurrency: number,
): Promise<number> {
  const queueClient = createClient({ url });
  const workerClient = createClient({ url });
  await Promise.all([queueClient.connect(), workerClient.connect()]);
  const name = 'orders';
  const queue = new Queue(name, { connection: queueClient, prefix });
  let worker: Worker | undefined;
  try {
    const jobs = Array.from({ length: count }, (_, i) => ({
      name: 'OrderPlaced',
      data: makeEvent(i).data,
      opts: { removeOnComplete: true },
    }));
    for (const run of chunks(jobs, 500)) await queue.addBulk(run);
    const done = counter(count);
    const started = performance.now();
    worker = new Worker(name, () => Promise.resolve(), { connection: workerClient, concurrency, prefix });
    worker.on('completed', (job) => done.seen(String(job.id)));
    await within(done.done, DRAIN_LIMIT_MS, `the BullMQ worker processing ${count} jobs`);
    return performance.now() - started;
  } finally {
    await worker?.close();
    await queue.obliterate({ force: true });
    await queue.close();
    for (const client of [queueClient, workerClient]) if (client.isOpen) await client.close();
  }
}
