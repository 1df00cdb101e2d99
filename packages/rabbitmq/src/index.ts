/**
 * @module
 * @tidings/rabbitmq: the RabbitMQ transport (a topic exchange per channel, quorum queues per group,
 * publisher confirms, delayed retries without plugins, dead letters in a stream).
 */

// The transport
export { RABBITMQ_CAPABILITIES, RABBITMQ_MAX_MESSAGE_BYTES, rabbitmqTransport } from './transport.ts';
export type { RabbitmqTransport } from './transport.ts';

// Options
export { RABBITMQ_DEFAULTS } from './options.ts';
export type { RabbitmqErrorContext, RabbitmqTransportOptions } from './options.ts';

// Doctor
export type { RabbitmqDoctorGroup } from './doctor.ts';
