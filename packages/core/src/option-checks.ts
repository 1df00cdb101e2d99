import { invalidOptions } from './errors.ts';
import type { ConsumeOptions } from './transport.ts';

// The option checks every adapter shares. Each `*Problem` function returns a sentence that says what is
// wrong and what was given (or `undefined` when the value is fine), so that an adapter can collect all of
// them and throw one `invalidOptions(where, problems)` that lists every problem at once.

/**
 * Says what a bad option value is, for messages: strings quoted, numbers as they are, objects by kind.
 *
 * @example
 * `prefix must be a non-empty string (got ${describeValue(prefix)})`
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** True for any non-null object, arrays included: something whose keys can be read. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Refuses options that are not an object at all, before any key is read.
 *
 * @param example shown in the message, e.g. `"{ servers: 'nats://127.0.0.1:4222' }"`.
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS`.
 */
export function checkOptionsObject(
  where: string,
  options: unknown,
  example?: string,
): asserts options is Record<string, unknown> {
  if (isRecord(options)) return;
  const such = example === undefined ? '' : ` such as ${example}`;
  throw invalidOptions(where, [`options must be an object${such} (got ${describeValue(options)})`]);
}

/** What {@link checkOptions} checks besides the options being an object. */
export interface OptionChecks {
  /** Every option name the constructor takes; any other key is a problem. */
  readonly known: Iterable<string>;
  /** The constructor's own checks, each a problem sentence or `undefined`, in the order to list them. */
  readonly problems?: (raw: Record<string, unknown>) => readonly (string | undefined)[];
  /** Shown when the options are not an object at all, e.g. `"{ servers: 'nats://127.0.0.1:4222' }"`. */
  readonly example?: string;
}

/**
 * Checks a constructor's options and lists every problem at once: unknown keys first, then the
 * constructor's own `problems`, then `clock` and `onError`, which are checked here whenever `known` lists
 * them.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS`.
 * @example
 * checkOptions('fooTransport', options, {
 *   known: ['url', 'clock', 'onError', 'pollIntervalMs'],
 *   problems: (raw) => [numberProblem('pollIntervalMs', raw.pollIntervalMs, { min: 0, exclusive: true })],
 * });
 */
export function checkOptions(where: string, options: unknown, checks: OptionChecks): void {
  checkOptionsObject(where, options, checks.example);
  const known = new Set(checks.known);
  const problems = [
    ...unknownKeyProblems(options, known),
    ...(checks.problems?.(options) ?? []),
    known.has('clock') ? clockProblem(options.clock) : undefined,
    known.has('onError') ? functionProblem('onError', options.onError) : undefined,
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) throw invalidOptions(where, problems);
}

/**
 * One problem per key of `raw` that is not in `known`, with the closest known key as a suggestion when
 * one is near (a typo, a different case, a missing `Ms`).
 *
 * @param path prefixed to every key, for nested options: `unknownKeyProblems(raw.retry, KEYS, 'retry')`.
 */
export function unknownKeyProblems(
  raw: Record<string, unknown>,
  known: Iterable<string>,
  path?: string,
): string[] {
  const names = [...known];
  const allowed = new Set(names);
  const at = path === undefined ? '' : `${path}.`;
  return Object.keys(raw)
    .filter((key) => !allowed.has(key))
    .map((key) => {
      const near = nearest(key, names);
      const hint = near === undefined ? '' : `; did you mean ${JSON.stringify(at + near)}?`;
      return `unknown option ${JSON.stringify(at + key)}${hint}`;
    });
}

function nearest(key: string, names: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/** Levenshtein distance; option names are short, so the quadratic table is cheap. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** What {@link numberProblem} accepts. */
export interface NumberRule {
  /** The smallest value allowed (or, with `exclusive`, the bound the value must be above). */
  readonly min?: number;
  /** The largest value allowed. */
  readonly max?: number;
  /** Why `max` is the limit, added to the message when it is exceeded: `"JetStream's limit"`. */
  readonly maxReason?: string;
  /** Only whole numbers. */
  readonly integer?: boolean;
  /** The value must be greater than `min`, not equal to it. */
  readonly exclusive?: boolean;
  /** `undefined` is a problem too (by default an absent option is fine: its default applies). */
  readonly required?: boolean;
}

/**
 * The problem with a numeric option, if any: not a finite number, not whole, below `min` or above `max`.
 *
 * @example
 * numberProblem('pollIntervalMs', 0, { min: 0, exclusive: true }) // 'pollIntervalMs must be a finite number > 0 (got 0)'
 */
export function numberProblem(name: string, value: unknown, rule: NumberRule = {}): string | undefined {
  const { min, max, integer = false, exclusive = false } = rule;
  const range = [
    integer ? 'an integer' : 'a finite number',
    min === undefined ? '' : ` ${exclusive ? '>' : '>='} ${min}`,
    max === undefined ? '' : `${min === undefined ? '' : ' and'} <= ${max}`,
  ].join('');
  if (value === undefined) return rule.required ? `${name} is required (${range})` : undefined;
  const aboveMin =
    min === undefined || (typeof value === 'number' && (exclusive ? value > min : value >= min));
  const ok =
    typeof value === 'number' && Number.isFinite(value) && aboveMin && (!integer || Number.isInteger(value));
  if (!ok) return `${name} must be ${range} (got ${describeValue(value)})`;
  if (max !== undefined && value > max) {
    return `${name} must be at most ${max}${rule.maxReason ? `, ${rule.maxReason}` : ''} (got ${value})`;
  }
  return undefined;
}

/** The problem with a string option, if any: not a string, empty, or longer than `maxLength`. */
export function stringProblem(
  name: string,
  value: unknown,
  {
    required = false,
    maxLength,
  }: { readonly required?: boolean; readonly maxLength?: number | undefined } = {},
): string | undefined {
  if (value === undefined && !required) return undefined;
  const ok =
    typeof value === 'string' && value.length > 0 && (maxLength === undefined || value.length <= maxLength);
  if (ok) return undefined;
  const kind = maxLength === undefined ? 'a non-empty string' : `a string of 1-${maxLength} characters`;
  return `${name} must be ${kind} (got ${describeValue(value)})`;
}

/** The problem with a callback option such as `onError`, if any (an absent one is fine unless required). */
export function functionProblem(
  name: string,
  value: unknown,
  { required = false }: { readonly required?: boolean } = {},
): string | undefined {
  if ((value === undefined && !required) || typeof value === 'function') return undefined;
  return `${name} must be a function (got ${describeValue(value)})`;
}

/** The problem with a `clock` option, if any: it must have `now()` and `sleep(ms, signal)`. */
export function clockProblem(clock: unknown): string | undefined {
  if (clock === undefined) return undefined;
  if (isRecord(clock) && typeof clock.now === 'function' && typeof clock.sleep === 'function')
    return undefined;
  return `clock must have now() and sleep(ms, signal) (got ${describeValue(clock)})`;
}

/** How a transport narrows the common checks of {@link consumeOptionsProblems}. */
export interface ConsumeOptionRules {
  /** Longest channel and group name, in characters (default: any length). */
  readonly maxNameLength?: number;
  /** The rule for `concurrency` (default an integer >= 1); it is always required. */
  readonly concurrency?: NumberRule;
  /** The rule for `leaseMs` (default a number > 0); it is always required. */
  readonly leaseMs?: NumberRule;
  /** Set when `ordered: true` is refused: the transport's name for the message, `'the nats transport'`. */
  readonly orderedNotSupportedBy?: string;
  /** The transport's own checks, run when `options` is an object; their problems come last. */
  readonly extra?: (options: Record<string, unknown>) => readonly string[];
}

/**
 * Every problem with what a consumer asks for and its handler: the handler is a function, channel and
 * group are non-empty strings, topics a non-empty array of non-empty strings, concurrency and leaseMs are
 * in range, ordered is a boolean; then the transport's `rules`.
 */
export function consumeOptionsProblems(
  options: unknown,
  handler: unknown,
  rules: ConsumeOptionRules = {},
): string[] {
  if (!isRecord(options)) return [`options must be an object (got ${describeValue(options)})`];
  const problems = [
    functionProblem('handler', handler, { required: true }),
    stringProblem('channel', options.channel, { required: true, maxLength: rules.maxNameLength }),
    stringProblem('group', options.group, { required: true, maxLength: rules.maxNameLength }),
    ...topicsProblems(options.topics),
    numberProblem('concurrency', options.concurrency, {
      ...(rules.concurrency ?? { min: 1, integer: true }),
      required: true,
    }),
    numberProblem('leaseMs', options.leaseMs, {
      ...(rules.leaseMs ?? { min: 0, exclusive: true }),
      required: true,
    }),
    typeof options.ordered === 'boolean'
      ? undefined
      : `ordered must be a boolean (got ${describeValue(options.ordered)})`,
    options.ordered === true && rules.orderedNotSupportedBy !== undefined
      ? `ordered delivery is not supported by ${rules.orderedNotSupportedBy} (capabilities.ordering is none)`
      : undefined,
  ].filter((problem) => problem !== undefined);
  return rules.extra === undefined ? problems : [...problems, ...rules.extra(options)];
}

function topicsProblems(topics: unknown): string[] {
  if (!Array.isArray(topics) || topics.length === 0)
    return [`topics must be a non-empty array of topic names (got ${describeValue(topics)})`];
  return topics.flatMap((topic: unknown, index) =>
    typeof topic === 'string' && topic.length > 0
      ? []
      : [`topics[${index}] must be a non-empty string (got ${describeValue(topic)})`],
  );
}

/**
 * Checks what a consumer asks for, and its handler, as `Transport.consume` receives them.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 * @example
 * checkConsumeOptions('natsTransport.consume', options, handler, { orderedNotSupportedBy: 'the nats transport' });
 */
export function checkConsumeOptions(
  where: string,
  options: ConsumeOptions,
  handler: unknown,
  rules: ConsumeOptionRules = {},
): void {
  const problems = consumeOptionsProblems(options, handler, rules);
  if (problems.length > 0) throw invalidOptions(where, problems);
}

/** Where a transport's error happened; each transport narrows `where` to its own list. */
export interface ErrorReportContext {
  /** The work that failed: `handler` when a handler threw, otherwise the transport's own step. */
  readonly where: string;
  /** The channel of the consumer or delivery involved, when there is one. */
  readonly channel?: string | undefined;
  /** The consumer group involved, when there is one. */
  readonly group?: string | undefined;
  /** The message being handled or settled, when there is one. */
  readonly messageId?: string | undefined;
}

/**
 * The default `onError` of a transport: `console.error` with the package, where, group, channel and
 * message id in front.
 *
 * @example
 * onError: options.onError ?? consoleErrorReporter('@tidings/sqlite'),
 * // prints "[@tidings/sqlite] handler billing orders 0193…: Error: …"
 */
export function consoleErrorReporter(
  packageName: string,
): (error: unknown, context: ErrorReportContext) => void {
  return function reportToConsole(error, context) {
    const where = [context.where, context.group, context.channel, context.messageId]
      .filter(Boolean)
      .join(' ');
    console.error(`[${packageName}] ${where}:`, error);
  };
}
