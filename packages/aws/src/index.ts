/**
 * @module
 * @tidings/aws: the AWS transport (an SNS topic per channel, an SQS queue per group, FIFO for
 * per-subject order, visibility timeouts as leases, dead letters in a Tidings-managed FIFO queue).
 */

// The transport
export { AWS_CAPABILITIES, AWS_FIFO_CAPABILITIES, AWS_MAX_MESSAGE_BYTES, awsTransport } from './transport.ts';
export type { AwsTransport } from './transport.ts';

// Options
export { AWS_DEFAULTS } from './options.ts';
export type { AwsCredentials, AwsErrorContext, AwsTransportOptions } from './options.ts';

// Doctor
export type { AwsDoctorGroup, AwsDoctorOptions } from './doctor.ts';
