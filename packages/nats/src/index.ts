/**
 * @module
 * @tidings/nats: the NATS JetStream transport (a stream per channel, durable pull consumers per group,
 * delayed retries with nak, dead letters in a stream).
 */

// The transport
export { NATS_CAPABILITIES, natsTransport } from './transport.ts';
export type { NatsTransport } from './transport.ts';

// Options
export { NATS_DEFAULTS } from './options.ts';
export type { NatsErrorContext, NatsTransportOptions } from './options.ts';
