const BRAND = Symbol.for('tidings.error');

/** The stable codes a {@link TidingsError} can carry; callers branch on these, never on messages. */
export type TidingsErrorCode =
  | 'TIDINGS_MALFORMED'
  | 'TIDINGS_UNKNOWN_TYPE'
  | 'TIDINGS_SCHEMA_INVALID'
  | 'TIDINGS_VERSION_UNSUPPORTED'
  | 'TIDINGS_INVALID_OPTIONS'
  | 'TIDINGS_CONCURRENCY'
  | 'TIDINGS_CLOSED'
  | 'TIDINGS_TIMEOUT'
  | 'TIDINGS_ABORTED'
  | 'TIDINGS_NON_RETRYABLE'
  | 'TIDINGS_UNAVAILABLE'
  | 'TIDINGS_UNSUPPORTED'
  | 'TIDINGS_NOT_FOUND'
  | 'TIDINGS_STREAM_DELETED'
  | 'TIDINGS_HANDLER_FAILED';

/** Options accepted by every Tidings error constructor. */
export interface TidingsErrorOptions {
  cause?: unknown;
  /** Structured facts about the failure, for logs and dead-letter records. */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error class of Tidings: a stable `code`, a message that says what to do, and the `cause`.
 *
 * @example
 * throw new TidingsError('TIDINGS_INVALID_OPTIONS', 'group must be a non-empty string; pass { group: "billing" }');
 */
export class TidingsError extends Error {
  readonly code: TidingsErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly [BRAND] = true;

  constructor(code: TidingsErrorCode, message: string, options: TidingsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TidingsError';
    this.code = code;
    this.details = options.details;
  }
}

/**
 * True when `error` is a Tidings error (optionally with the given code), even when it was thrown by another
 * installed copy of `@tidings/core`.
 *
 * @example
 * if (isTidingsError(err, 'TIDINGS_SCHEMA_INVALID')) console.log(err.issues);
 */
export function isTidingsError<C extends TidingsErrorCode>(
  error: unknown,
  code?: C,
): error is TidingsError & { code: C } {
  if (typeof error !== 'object' || error === null) return false;
  const branded = (error as Record<symbol, unknown>)[BRAND] === true;
  return branded && (code === undefined || (error as { code?: unknown }).code === code);
}

/** One problem found by a schema validator: where (a dotted path) and what. */
export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/** Raised when event data does not satisfy its schema; `issues` lists every field the validator rejected. */
export class SchemaInvalidError extends TidingsError {
  readonly issues: readonly SchemaIssue[];
  readonly eventType: string;
  readonly eventVersion: number;

  constructor(
    eventType: string,
    eventVersion: number,
    issues: readonly SchemaIssue[],
    options: TidingsErrorOptions = {},
  ) {
    const list = issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ');
    super(
      'TIDINGS_SCHEMA_INVALID',
      `${eventType} v${eventVersion} data does not match its schema (${list}). ` +
        'Fix the producer, or declare a new version with an upcaster if the shape changed on purpose.',
      { ...options, details: { type: eventType, version: eventVersion, issues } },
    );
    this.name = 'SchemaInvalidError';
    this.issues = issues;
    this.eventType = eventType;
    this.eventVersion = eventVersion;
  }
}

/** Raised when an append finds the stream at another version than the caller expected. */
export class ConcurrencyError extends TidingsError {
  readonly stream: string;
  readonly expected: unknown;
  readonly actual: number;

  constructor(stream: string, expected: unknown, actual: number) {
    super(
      'TIDINGS_CONCURRENCY',
      `Stream "${stream}" is at version ${actual}, not ${String(expected)}: someone else wrote first. ` +
        'Read the stream again, decide again, and retry the append.',
      { details: { stream, expected, actual } },
    );
    this.name = 'ConcurrencyError';
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Raised by a handler to say that retrying cannot help: the delivery goes to the dead letters at once. */
export class NonRetryableError extends TidingsError {
  constructor(message: string, options: TidingsErrorOptions = {}) {
    super('TIDINGS_NON_RETRYABLE', message, options);
    this.name = 'NonRetryableError';
  }
}

/**
 * Wraps an error so that retry middleware stops at once and dead-letters the delivery.
 *
 * @example
 * if (!customer) throw permanent(new Error(`customer ${id} does not exist`));
 */
export function permanent(error: unknown): NonRetryableError {
  const message = error instanceof Error ? error.message : String(error);
  return new NonRetryableError(message, { cause: error });
}

/** Builds the single error that lists every problem found in a set of options. */
export function invalidOptions(where: string, problems: readonly string[]): TidingsError {
  return new TidingsError(
    'TIDINGS_INVALID_OPTIONS',
    `${where}: ${problems.length === 1 ? problems[0] : `${problems.length} problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join(' ')}`}`,
    { details: { problems } },
  );
}
