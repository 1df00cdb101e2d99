import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import { type SchemaIssue, TidingsError } from './errors.ts';

/** The outcome of validating data: the validated (possibly transformed) value, or the issues. @internal */
export type Validation<T> = { ok: true; value: T } | { ok: false; issues: SchemaIssue[] };

/**
 * Validates synchronously through the Standard Schema interface (zod, valibot, arktype, …).
 * @internal
 */
export function validateSync<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  what: string,
): Validation<StandardSchemaV1.InferOutput<S>> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) {
    throw new TidingsError(
      'TIDINGS_UNSUPPORTED',
      `The schema of ${what} validates asynchronously; event schemas must validate synchronously. ` +
        'Move async checks (database lookups) into the handler.',
    );
  }
  if (result.issues === undefined) return { ok: true, value: result.value };
  return { ok: false, issues: result.issues.map(toIssue) };
}

function toIssue(issue: StandardSchemaV1.Issue): SchemaIssue {
  let path = '';
  for (const segment of issue.path ?? []) {
    const key = typeof segment === 'object' ? segment.key : segment;
    path += typeof key === 'number' ? `[${key}]` : path === '' ? String(key) : `.${String(key)}`;
  }
  return { path, message: issue.message };
}

/** True when `value` implements the Standard Schema interface. @internal */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const standard = (value as { '~standard'?: { validate?: unknown } } | null | undefined)?.['~standard'];
  return typeof standard === 'object' && standard !== null && typeof standard.validate === 'function';
}

/** The JSON Schema (draft 2020-12) of a schema's output, when its library provides one. @internal */
export function jsonSchemaOf(schema: StandardSchemaV1): Record<string, unknown> | undefined {
  const converter = (schema['~standard'] as Partial<StandardJSONSchemaV1.Props>).jsonSchema;
  if (converter === undefined) return undefined;
  try {
    return converter.output({ target: 'draft-2020-12' });
  } catch {
    try {
      return converter.output({ target: 'draft-07' });
    } catch {
      return undefined;
    }
  }
}
