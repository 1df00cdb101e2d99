import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TidingsError } from '@tidings/core';
import type { ResolvedTransportOptions } from './options.ts';

/** The two SDK clients of a transport. @internal */
export interface Clients {
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  /** Destroys the clients the transport made itself; clients passed in are left alone. */
  close(): void;
}

/** Makes (or adopts) the SNS and SQS clients. @internal */
export function makeClients(options: ResolvedTransportOptions): Clients {
  if (options.sqs !== undefined && options.sns !== undefined) {
    return { sqs: options.sqs, sns: options.sns, close: () => undefined };
  }
  const config = {
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  const sqs = new SQSClient(config);
  const sns = new SNSClient(config);
  return {
    sqs,
    sns,
    close: () => {
      sqs.destroy();
      sns.destroy();
    },
  };
}

/** The SDK's error name, or `undefined` for something that is not an error. @internal */
export function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** Names of SDK errors that mean "the service could not be reached or answered badly", not "the request was wrong". */
const TRANSIENT = new Set([
  'TimeoutError',
  'RequestTimeout',
  'ThrottlingException',
  'Throttling',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'KMSThrottlingException',
]);

/** True for errors after which the same request may well succeed later. @internal */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/.test(code)
  )
    return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return TRANSIENT.has(error.name) || (status !== undefined && status >= 500);
}

/** Whether the SDK says the queue (or topic) is not there. @internal */
export function isMissing(error: unknown): boolean {
  const name = errorName(error);
  return (
    name === 'QueueDoesNotExist' ||
    name === 'AWS.SimpleQueueService.NonExistentQueue' ||
    name === 'NotFoundException' ||
    name === 'NotFound'
  );
}

/**
 * The error a caller sees when AWS could not do `what`: `TIDINGS_UNAVAILABLE` when it may work later,
 * with the SDK's error as the cause; other errors (bad credentials, a refused request) pass through
 * with a sentence that says what was being done.
 *
 * @internal
 */
export function explain(what: string, error: unknown): Error {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (isTransient(error)) {
    return new TidingsError(
      'TIDINGS_UNAVAILABLE',
      `Cannot ${what}: AWS did not answer (${detail}). Retry later; check the endpoint, region and network.`,
      { cause: error },
    );
  }
  if (error instanceof TidingsError) return error;
  return new TidingsError('TIDINGS_UNAVAILABLE', `Cannot ${what}: ${detail}.`, { cause: error });
}
