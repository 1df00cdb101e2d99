/**
 * @module
 * @tidings/redis: the Redis Streams transport (consumer groups, leases through XAUTOCLAIM, delayed
 * retries, dead letters), and a plain Redis Pub/Sub transport for fire-and-forget events.
 */

// Redis Streams
export { REDIS_CAPABILITIES, REDIS_MAX_MESSAGE_BYTES, redisTransport } from './transport.ts';
export type { RedisTransport } from './transport.ts';
export { REDIS_DEFAULTS } from './options.ts';
export type { RedisErrorContext, RedisTransportOptions } from './options.ts';

// Redis Pub/Sub
export { REDIS_PUBSUB_CAPABILITIES, REDIS_PUBSUB_MAX_MESSAGE_BYTES, redisPubSubTransport } from './pubsub.ts';
export type { RedisPubSubTransport } from './pubsub.ts';
export { REDIS_PUBSUB_DEFAULTS } from './pubsub-options.ts';
export type { RedisPubSubErrorContext, RedisPubSubTransportOptions } from './pubsub-options.ts';

// Shared
export type { RedisClient } from './client.ts';
