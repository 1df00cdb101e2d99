import { isTidingsError, TidingsError } from '@tidings/core';

/**
 * Socket errors, SQLSTATE class 08 (connection exception), 57P01–57P03 (the server is shutting down,
 * crashed, or not accepting connections yet) and 53300 (too many connections).
 */
const CONNECTION_CODE =
  /^(E(CONNREFUSED|CONNRESET|CONNABORTED|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|NETDOWN|NOTFOUND|AI_AGAIN)$|08|57P0[1-3]$|53300$)/;

/** What pg and pg-pool say when a connection is lost, refused or never made in time. */
const CONNECTION_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|timeout expired|Query read timeout|connection error and is not queryable|Client was closed and is not queryable/i;

/** Failures that happen before a statement was sent: nothing can have been written. */
const BEFORE_SENDING =
  /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENETDOWN|ENOTFOUND|EAI_AGAIN|57P03|53300)$|timeout exceeded when trying to connect|Connection terminated due to connection timeout/i;

function codeAndMessage(error: unknown): { code: string; message: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return {
    code: typeof code === 'string' ? code : '',
    message: typeof message === 'string' ? message : '',
  };
}

/** Whether `error` says the server could not be reached (as opposed to a bad statement). @internal */
export function isConnectionError(error: unknown): boolean {
  const found = codeAndMessage(error);
  if (found === undefined) return false;
  if (found.code !== '' && CONNECTION_CODE.test(found.code)) return true;
  if (CONNECTION_MESSAGE.test(found.message)) return true;
  // pg-pool wraps the socket error of a failed connect in `cause`.
  const { cause } = error as { cause?: unknown };
  return cause !== undefined && cause !== error && isConnectionError(cause);
}

/** Whether a connection failure happened before anything was sent (so nothing was written). @internal */
export function failedBeforeSending(error: unknown): boolean {
  const found = codeAndMessage(error);
  if (found === undefined) return false;
  // A socket error while connecting (`connect ECONNRESET`): no statement went out on that socket.
  const { syscall } = error as { syscall?: unknown };
  if (syscall === 'connect' || syscall === 'getaddrinfo') return true;
  return BEFORE_SENDING.test(found.code) || BEFORE_SENDING.test(found.message);
}

/**
 * Turns a lost or refused connection into `TIDINGS_UNAVAILABLE`, so a caller can tell "the server is
 * away, retry later" from a bug; other errors (and Tidings errors) pass through as they are.
 * `details.written` says whether the statement may have committed: `no` when the connection was never
 * made, `unknown` when it was lost after the statement was sent. @internal
 */
export function asUnavailable(error: unknown, what: string): unknown {
  if (isTidingsError(error) || !isConnectionError(error)) return error;
  const before = failedBeforeSending(error);
  const reason = error instanceof Error ? error.message : String(error);
  return new TidingsError(
    'TIDINGS_UNAVAILABLE',
    `Cannot ${what}: PostgreSQL is unreachable (${reason}). ` +
      (before
        ? 'Nothing was written; retry once the server is back.'
        : 'The connection was lost after the statement was sent, so it may have committed; retrying is ' +
          'safe for consumers that deduplicate by event id.'),
    { cause: error, details: { written: before ? 'no' : 'unknown' } },
  );
}
