import type { Event } from './envelope.ts';
import { invalidOptions } from './errors.ts';

/** A scalar that a filter compares with `===`. */
export type FilterScalar = string | number | boolean | null;

/** One condition on a field; an array of them matches when any one does. */
export type FilterCondition =
  | FilterScalar
  | { readonly prefix: string }
  | { readonly anythingBut: FilterScalar | readonly FilterScalar[] }
  | {
      readonly numeric: {
        readonly gt?: number;
        readonly gte?: number;
        readonly lt?: number;
        readonly lte?: number;
      };
    }
  | { readonly exists: boolean };

/** A field's filter: one condition, or a list of which any one must hold. */
export type FieldFilter = FilterCondition | readonly FilterCondition[];

/**
 * A declarative, serialisable content filter. Every listed field must match; `data` keys are dotted
 * paths into the event's data (`'customer.tier'`).
 *
 * @example
 * const filter: EventFilter = { subject: { prefix: 'eu-' }, data: { total: { numeric: { gte: 100 } }, 'customer.tier': ['gold', 'silver'] } };
 */
export interface EventFilter {
  readonly type?: FieldFilter;
  readonly source?: FieldFilter;
  readonly subject?: FieldFilter;
  readonly data?: Readonly<Record<string, FieldFilter>>;
}

const MISSING = Symbol('missing');

/** Lists what is wrong with a filter, so that subscribe can refuse it at once. @internal */
export function filterProblems(filter: EventFilter): string[] {
  const problems: string[] = [];
  const checkField = (path: string, field: FieldFilter): void => {
    const conditions: readonly FilterCondition[] = Array.isArray(field) ? field : [field as FilterCondition];
    if (conditions.length === 0) problems.push(`filter.${path} is an empty list; it would match nothing`);
    for (const condition of conditions) {
      if (condition === null || typeof condition !== 'object') continue;
      const keys = Object.keys(condition);
      const key = keys[0];
      if (keys.length !== 1 || !['prefix', 'anythingBut', 'numeric', 'exists'].includes(key ?? '')) {
        problems.push(
          `filter.${path} has an unknown condition ${JSON.stringify(condition)}; use a value, prefix, anythingBut, numeric or exists`,
        );
      } else if (key === 'prefix' && typeof (condition as { prefix: unknown }).prefix !== 'string') {
        problems.push(`filter.${path}.prefix must be a string`);
      } else if (key === 'exists' && typeof (condition as { exists: unknown }).exists !== 'boolean') {
        problems.push(`filter.${path}.exists must be true or false`);
      } else if (key === 'numeric') {
        const range = (condition as { numeric: Record<string, unknown> }).numeric;
        const bounds = Object.entries(range ?? {});
        if (bounds.length === 0)
          problems.push(`filter.${path}.numeric needs at least one of gt, gte, lt, lte`);
        for (const [op, value] of bounds) {
          if (!['gt', 'gte', 'lt', 'lte'].includes(op))
            problems.push(`filter.${path}.numeric.${op} is not one of gt, gte, lt, lte`);
          else if (typeof value !== 'number' || Number.isNaN(value))
            problems.push(`filter.${path}.numeric.${op} must be a number`);
        }
      }
    }
  };
  if (typeof filter !== 'object' || filter === null)
    return ['filter must be an object such as { data: { total: { numeric: { gte: 100 } } } }'];
  for (const [name, field] of Object.entries(filter)) {
    if (name === 'data') {
      if (typeof field !== 'object' || field === null || Array.isArray(field))
        problems.push('filter.data must map data paths to conditions');
      else
        for (const [path, condition] of Object.entries(field as Record<string, FieldFilter>))
          checkField(`data.${path}`, condition);
    } else if (name === 'type' || name === 'source' || name === 'subject') {
      checkField(name, field as FieldFilter);
    } else {
      problems.push(`filter.${name} is not filterable; filter on type, source, subject or data paths`);
    }
  }
  return problems;
}

/** Checks a filter once and returns a fast predicate over events. */
export function compileFilter(filter: EventFilter | undefined): (event: Event) => boolean {
  if (filter === undefined) return () => true;
  const problems = filterProblems(filter);
  if (problems.length > 0) throw invalidOptions('subscribe filter', problems);
  const checks: ((event: Event) => boolean)[] = [];
  for (const name of ['type', 'source', 'subject'] as const) {
    const field = filter[name];
    if (field !== undefined) checks.push((event) => matchesField(event[name] ?? MISSING, field));
  }
  for (const [path, field] of Object.entries(filter.data ?? {})) {
    const segments = path.split('.');
    checks.push((event) => matchesField(readPath(event.data, segments), field));
  }
  return (event) => checks.every((check) => check(event));
}

function readPath(value: unknown, segments: readonly string[]): unknown {
  let current = value;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return MISSING;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function matchesField(value: unknown, field: FieldFilter): boolean {
  const conditions: readonly FilterCondition[] = Array.isArray(field) ? field : [field as FilterCondition];
  return conditions.some((condition) => matchesCondition(value, condition));
}

function matchesCondition(value: unknown, condition: FilterCondition): boolean {
  if (condition === null || typeof condition !== 'object') return value === condition;
  if ('exists' in condition) return (value !== MISSING) === condition.exists;
  if (value === MISSING) return false;
  if ('prefix' in condition) return typeof value === 'string' && value.startsWith(condition.prefix);
  if ('anythingBut' in condition) {
    const excluded: readonly FilterScalar[] = Array.isArray(condition.anythingBut)
      ? condition.anythingBut
      : [condition.anythingBut as FilterScalar];
    return !excluded.includes(value as FilterScalar);
  }
  if (typeof value !== 'number') return false;
  const { gt, gte, lt, lte } = condition.numeric;
  return (
    (gt === undefined || value > gt) &&
    (gte === undefined || value >= gte) &&
    (lt === undefined || value < lt) &&
    (lte === undefined || value <= lte)
  );
}

/** True when `type` matches a wildcard pattern: `*` stands for any run of characters (`Order*`, `billing.*`). */
export function matchesPattern(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const expression = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return expression.test(type);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
