/**
 * @module
 * @tidings/redis: the Redis Streams transport (consumer groups, leases through XAUTOCLAIM, delayed
 * retries, dead letters).
 */

export { REDIS_CAPABILITIES, REDIS_MAX_MESSAGE_BYTES, redisTransport } from './transport.ts';
export type { RedisTransport } from './transport.ts';
export { REDIS_DEFAULTS } from './options.ts';
export type { RedisErrorContext, RedisTransportOptions } from './options.ts';
export type { RedisClient } from './client.ts';
