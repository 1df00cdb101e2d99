import { TidingsError } from '@tidings/core';

/** Socket errors, and SQLSTATE classes 08 (connection exception) and 57P (server shutting down). */
const CONNECTION_CODE = /^(E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NOTFOUND)|08|57P0[1-3])/;

/** Whether `error` says the server could not be reached (as opposed to a bad statement). @internal */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && CONNECTION_CODE.test(code)) return true;
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect/i.test(message)
  );
}

/**
 * Turns a lost or refused connection into `TIDINGS_UNAVAILABLE`, so a publisher can tell "the server is
 * down, retry later" from a bug; other errors pass through as they are. @internal
 */
export function asUnavailable(error: unknown, what: string): unknown {
  if (!isConnectionError(error)) return error;
  return new TidingsError(
    'TIDINGS_UNAVAILABLE',
    `Cannot ${what}: PostgreSQL is unreachable (${error instanceof Error ? error.message : String(error)}). ` +
      'Nothing was written; retry once the server is back.',
    { cause: error },
  );
}
