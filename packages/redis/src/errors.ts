import { isTidingsError, TidingsError } from '@tidings/core';
import {
  ClientOfflineError,
  ConnectionTimeoutError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';

/** Socket error codes that mean the server could not be reached or the connection broke. */
const SOCKET_CODE =
  /^E(CONNREFUSED|CONNRESET|CONNABORTED|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|NETDOWN|NOTFOUND|AI_AGAIN)$/;

/**
 * Error replies of a server that is there but cannot take the command now: loading its data after a
 * restart, busy in a script, a replica that lost its primary or is read-only after a failover, out of
 * memory under `noeviction`, a cluster that is resharding or down.
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/** Failures that happen before a command was sent: nothing can have been written. */
function failedBeforeSending(error: unknown): boolean {
  if (error instanceof ClientOfflineError) return true;
  if (error instanceof ConnectionTimeoutError) return true;
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return true;
  // A refusing reply means the server did not run the command.
  return error instanceof Error && TRANSIENT_REPLY.test(error.message);
}

/** Whether `error` says Redis could not take the command now (as opposed to a bad command). @internal */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (
    error instanceof ClientOfflineError ||
    error instanceof ConnectionTimeoutError ||
    error instanceof SocketClosedUnexpectedlyError ||
    error instanceof SocketTimeoutError ||
    error instanceof ReconnectStrategyError ||
    error instanceof TimeoutError
  ) {
    return true;
  }
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string' && SOCKET_CODE.test(code)) return true;
  if (typeof message === 'string' && TRANSIENT_REPLY.test(message)) return true;
  return cause !== undefined && cause !== error && isConnectionError(cause);
}

/**
 * Turns an unreachable or refusing server into `TIDINGS_UNAVAILABLE`, so a caller can tell "Redis is
 * away, retry later" from a bug; other errors (and Tidings errors) pass through as they are.
 * `details.written` says whether the command may have run: `no` when it was never sent or was
 * refused, `unknown` when the connection was lost (or went silent) after it was sent. @internal
 */
export function asUnavailable(error: unknown, what: string): unknown {
  if (isTidingsError(error) || !isConnectionError(error)) return error;
  const before = failedBeforeSending(error);
  const reason = error instanceof Error ? error.message : String(error);
  return new TidingsError(
    'TIDINGS_UNAVAILABLE',
    `Cannot ${what}: Redis is unreachable or refusing writes (${reason}). ` +
      (before
        ? 'Nothing was written; retry once the server is back.'
        : 'The connection was lost after the command was sent, so it may have been applied; retrying is ' +
          'safe for consumers that deduplicate by event id.'),
    { cause: error, details: { written: before ? 'no' : 'unknown' } },
  );
}

/** The error of a command that got no reply in time; its outcome is unknown. @internal */
export function noReply(what: string, timeoutMs: number): TidingsError {
  return new TidingsError(
    'TIDINGS_UNAVAILABLE',
    `Cannot ${what}: Redis did not reply within ${timeoutMs} ms. The command may still be applied; ` +
      'retrying is safe for consumers that deduplicate by event id. Raise commandTimeoutMs for very ' +
      'large batches.',
    { details: { written: 'unknown' } },
  );
}
