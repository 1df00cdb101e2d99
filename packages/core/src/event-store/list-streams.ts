import { describe } from '../envelope.ts';
import { invalidOptions } from '../errors.ts';
import type { ListStreamsOptions } from './types.ts';

/** The default page size of `listStreams`. */
export const LIST_STREAMS_LIMIT = 100;

/** A `listStreams` call with every default filled in, and the name range it covers. */
export interface ResolvedListStreams {
  /** Names must sort after this ('' for the first page). */
  readonly after: string;
  /** At most this many streams per page. */
  readonly limit: number;
  /** Names must start with this ('' for any). */
  readonly prefix: string;
  /**
   * The smallest name above every name that starts with `prefix`, so a store can scan just that range
   * (`prefix <= name < upper`); `undefined` when there is no such bound (no prefix).
   */
  readonly upper: string | undefined;
}

/**
 * Checks `listStreams`' options and fills in the defaults.
 *
 * @throws TidingsError `TIDINGS_INVALID_OPTIONS` listing every problem at once.
 */
export function resolveListStreams(options: ListStreamsOptions | undefined): ResolvedListStreams {
  const problems: string[] = [];
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw invalidOptions('listStreams', [
      `options must be an object such as { prefix: 'order-', limit: 50 } (got ${describe(options)})`,
    ]);
  }
  const { after = '', limit = LIST_STREAMS_LIMIT, prefix = '' } = options ?? {};
  if (typeof after !== 'string') {
    problems.push(`after must be a stream name, the next of the previous page (got ${describe(after)})`);
  }
  if (!Number.isSafeInteger(limit) || limit < 1) {
    problems.push(`limit must be an integer >= 1 (got ${describe(limit)})`);
  }
  if (typeof prefix !== 'string') problems.push(`prefix must be a string (got ${describe(prefix)})`);
  if (problems.length > 0) throw invalidOptions('listStreams', problems);
  return { after, limit, prefix, upper: prefix === '' ? undefined : prefixUpperBound(prefix) };
}

/**
 * Compares two stream names in Unicode code point order, the byte order of their UTF-8 encoding (how
 * SQLite and PostgreSQL's "C" collation sort). JavaScript's `<` compares UTF-16 units, which puts
 * characters above U+FFFF before U+E000–U+FFFF; this corrects for that.
 */
export function compareStreamNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (U+D800–U+DFFF) rank above U+E000–U+FFFF, as the code points they encode do. */
const codePointRank = (unit: number): number =>
  unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800;

const MAX_CODE_POINT = 0x10ffff;

/** The smallest string above every string that starts with `prefix`, or `undefined` when none exists. */
function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix, (char) => char.codePointAt(0) as number);
  while (points.length > 0) {
    const last = points.pop() as number;
    if (last === MAX_CODE_POINT) continue;
    // The next code point that UTF-8 can hold: surrogates are not characters.
    const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
    return String.fromCodePoint(...points, next);
  }
  return undefined;
}

/** Whether a name falls in the range a resolved `listStreams` call covers. */
export function inListedRange(name: string, list: ResolvedListStreams): boolean {
  return compareStreamNames(name, list.after) > 0 && name.startsWith(list.prefix);
}
