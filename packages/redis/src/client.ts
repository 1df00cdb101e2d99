import type { createClient } from 'redis';

/** The node-redis client type the transport uses. */
export type RedisClient = ReturnType<typeof createClient>;

/** Sends a raw command and types its RESP2 reply as the caller knows it. @internal */
export function command<T>(client: RedisClient, args: readonly string[]): Promise<T> {
  return client.sendCommand<T>(args);
}

/** Runs a Lua script with EVALSHA, loading it on NOSCRIPT. @internal */
export interface Script {
  run<T>(client: RedisClient, keys: readonly string[], args: readonly string[]): Promise<T>;
}

/** @internal */
export function script(source: string): Script {
  let sha: string | undefined;
  return {
    async run<T>(client: RedisClient, keys: readonly string[], args: readonly string[]): Promise<T> {
      sha ??= await command<string>(client, ['SCRIPT', 'LOAD', source]);
      try {
        return await command<T>(client, ['EVALSHA', sha, String(keys.length), ...keys, ...args]);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return command<T>(client, ['EVAL', source, String(keys.length), ...keys, ...args]);
      }
    },
  };
}
