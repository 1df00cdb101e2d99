import { createClient } from 'redis';
import { readPayload } from './common.ts';
import type { RawClient, RawConsumer } from './raw.ts';

const BLOCK_MS = 100;

type Entry = [string, string[]];
type ReadReply = [string, Entry[]][] | null;

/** Deletes every key under `prefix` (SCAN, never KEYS). */
export async function deleteKeys(
  client: { sendCommand(args: string[]): Promise<unknown> },
  prefix: string,
): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = (await client.sendCommand([
      'SCAN',
      cursor,
      'MATCH',
      `${prefix}*`,
      'COUNT',
      '1000',
    ])) as [string, string[]];
    cursor = next;
    if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
  } while (cursor !== '0');
}

/**
 * node-redis on its own: one stream per stream name, a publish is one MULTI of XADDs (a single XADD
 * for one message) with the same fields Tidings writes, a consumer is XREADGROUP COUNT n on its own
 * blocking connection and one XACK per batch.
 */
export async function rawRedis(url: string, prefix: string): Promise<RawClient> {
  const client = createClient({ url, RESP: 2 });
  await client.connect();
  const key = (stream: string): string => `${prefix}:raw:${stream}`;
  const fields = (message: Parameters<RawClient['publish']>[1][number]): string[] => {
    const out = [
      'id',
      message.id,
      'topic',
      message.topic,
      'headers',
      JSON.stringify(message.headers),
      'body',
      Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('latin1'),
    ];
    if (message.key !== undefined) out.push('key', message.key);
    return out;
  };

  return {
    peer: 'node-redis: MULTI of XADDs / XREADGROUP COUNT n + XACK',
    async publish(stream, messages) {
      const [only] = messages;
      if (messages.length === 1 && only !== undefined) {
        await client.sendCommand(['XADD', key(stream), '*', ...fields(only)]);
        return;
      }
      const multi = client.multi();
      for (const message of messages) multi.addCommand(['XADD', key(stream), '*', ...fields(message)]);
      await multi.exec();
    },
    async consume(stream, concurrency, onMessage): Promise<RawConsumer> {
      try {
        await client.sendCommand(['XGROUP', 'CREATE', key(stream), 'raw', '0', 'MKSTREAM']);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
      }
      const reader = client.duplicate();
      await reader.connect();
      let stopped = false;
      const loop = (async () => {
        while (!stopped) {
          const reply = await reader.sendCommand<ReadReply>([
            'XREADGROUP',
            'GROUP',
            'raw',
            'c1',
            'COUNT',
            String(concurrency),
            'BLOCK',
            String(BLOCK_MS),
            'STREAMS',
            key(stream),
            '>',
          ]);
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) continue;
          const ids: string[] = [];
          for (const [entryId, list] of entries) {
            const map = new Map<string, string>();
            for (let i = 0; i + 1 < list.length; i += 2) map.set(list[i] as string, list[i + 1] as string);
            JSON.parse(map.get('headers') ?? '{}');
            readPayload(Buffer.from(map.get('body') ?? 'null', 'latin1'));
            ids.push(map.get('id') ?? entryId);
          }
          await client.sendCommand(['XACK', key(stream), 'raw', ...entries.map(([entryId]) => entryId)]);
          for (const id of ids) onMessage(id);
        }
      })();
      return {
        async stop() {
          stopped = true;
          await loop;
          await reader.close();
        },
      };
    },
    async close() {
      await deleteKeys(client, `${prefix}:raw:`);
      await client.close();
    },
  };
}
