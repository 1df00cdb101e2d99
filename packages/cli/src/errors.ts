/**
 * An error the CLI reports as one line and turns into an exit code: 2 for a usage error (a bad
 * argument, a missing catalog module), 1 for a failure.
 *
 * @example
 * throw new CliError('Unknown event type "Foo"; run `tidings catalog list` to see the types.', 2);
 */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: 1 | 2, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A usage error: the user passed something the CLI cannot work with (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(message, 2);
}
