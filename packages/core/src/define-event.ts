import type { StandardSchemaV1 } from '@standard-schema/spec';
import { createEvent, deepFreeze, type Event, type EventInit } from './envelope.ts';
import { invalidOptions, SchemaInvalidError, TidingsError } from './errors.ts';
import { isStandardSchema, jsonSchemaOf, validateSync } from './schema.ts';

/** How to read an older version of an event: its schema, and how to turn it into the next version. */
export interface Upcaster<S extends StandardSchemaV1 = StandardSchemaV1> {
  /** The schema of this older version's data. */
  readonly schema: S;
  /** Turns validated data of this version into data of the next version. */
  readonly upcast: (data: StandardSchemaV1.InferOutput<S>) => unknown;
  /** Where the schema library cannot export JSON Schema, the document to publish instead. */
  readonly jsonSchema?: Record<string, unknown>;
}

/**
 * Declares an upcaster with its data typed by its schema.
 *
 * @example
 * upcasters: { 1: upcaster(OrderPlacedV1, (v1) => ({ ...v1, currency: 'EUR' })) }
 */
export function upcaster<S extends StandardSchemaV1>(
  schema: S,
  upcast: (data: StandardSchemaV1.InferOutput<S>) => unknown,
): Upcaster<S> {
  return { schema, upcast };
}

/** Options of {@link defineEvent}. */
export interface DefineEventOptions<TType extends string, S extends StandardSchemaV1> {
  /** A past-tense PascalCase name, optionally namespaced: `OrderPlaced`, `billing.InvoiceSent`. */
  type: TType;
  /** The current schema version (default 1). */
  version?: number;
  /** Any Standard Schema validator (zod, valibot, arktype, …) for the current version's data. */
  schema: S;
  /** Older versions, keyed by version number: each turns version n into n + 1. */
  // Each upcaster has its own schema type; `any` lets a record hold them all, each still typed by upcaster().
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  upcasters?: Readonly<Record<number, Upcaster<any>>>;
  /** What the event means, for the catalog's documentation. */
  description?: string;
  /** The default `source` of created events. */
  source?: string;
  /** JSON Schema to publish for the current version when the schema library cannot export one. */
  jsonSchema?: Record<string, unknown>;
}

/** A declared event type: creates, recognises, validates and upcasts its events. */
export interface EventDefinition<TType extends string = string, TData = unknown, TInput = TData> {
  readonly type: TType;
  /** The current (latest) version. */
  readonly version: number;
  /** Every version this definition can read, oldest first. */
  readonly versions: readonly number[];
  readonly description: string | undefined;
  readonly schema: StandardSchemaV1<TInput, TData>;
  /**
   * Creates a frozen event of the current version after validating `data`. Inside a handler the new
   * event is correlated to the event being handled.
   *
   * @throws SchemaInvalidError when `data` does not match the schema.
   */
  create(data: TInput, init?: EventInit): Event<TType, TData>;
  /** True when `event` is of this type (any version). */
  is(event: Event): event is Event<TType, TData>;
  /**
   * Validates data stored at `version`, upcasting it through every later version, and returns data of
   * the current version.
   */
  parse(data: unknown, version?: number): TData;
  /** Returns `event` at the current version with validated data (the same object when nothing changed). */
  upgrade(event: Event): Event<TType, TData>;
  /** The JSON Schema of a version's data (default: current), when available. */
  jsonSchema(version?: number): Record<string, unknown> | undefined;
}

/** The event type produced by a definition: `EventOf<typeof OrderPlaced>`. */
export type EventOf<D> =
  D extends EventDefinition<infer T, infer Data, infer _Input> ? Event<T, Data> : never;
/** The data type of a definition's current version. */
export type DataOf<D> = D extends EventDefinition<string, infer Data, infer _Input> ? Data : never;

// The internal readers of definitions made by defineEvent, by definition: see adoptEvent.
const adopters = new WeakMap<object, (event: Event) => Event>();

/**
 * `definition.upgrade(event)` for an event that the caller built itself, has not frozen and hands over:
 * the data is validated and upcast, then the event is completed in place and frozen once, where
 * `upgrade` would copy and freeze a second time. Definitions not made by defineEvent get `upgrade`.
 * @internal
 */
export function adoptEvent(definition: EventDefinition, event: Event): Event {
  const adopt = adopters.get(definition);
  return adopt === undefined ? definition.upgrade(deepFreeze(event)) : adopt(event);
}

const TYPE_NAME = /^([a-z][a-z0-9-]*\.)*[A-Z][A-Za-z0-9]*$/;

/**
 * Declares an event type once: its name, schema, version and how to read older versions.
 *
 * @example
 * const OrderPlaced = defineEvent({
 *   type: 'OrderPlaced',
 *   version: 2,
 *   schema: z.object({ orderId: z.string(), total: z.number(), currency: z.string() }),
 *   upcasters: { 1: upcaster(z.object({ orderId: z.string(), total: z.number() }), (v1) => ({ ...v1, currency: 'EUR' })) },
 * });
 * const event = OrderPlaced.create({ orderId: 'o-1', total: 42, currency: 'EUR' }, { subject: 'o-1' });
 */
export function defineEvent<const TType extends string, S extends StandardSchemaV1>(
  options: DefineEventOptions<TType, S>,
): EventDefinition<TType, StandardSchemaV1.InferOutput<S>, StandardSchemaV1.InferInput<S>> {
  type Data = StandardSchemaV1.InferOutput<S>;
  const { type, schema, description, source } = options;
  const version = options.version ?? 1;
  const upcasters = new Map<number, Upcaster>();
  const problems: string[] = [];
  if (typeof type !== 'string' || !TYPE_NAME.test(type)) {
    problems.push(
      `type must be a PascalCase past-tense name such as "OrderPlaced" (optionally namespaced: "billing.InvoiceSent"); got ${JSON.stringify(type)}`,
    );
  }
  if (!Number.isInteger(version) || version < 1)
    problems.push(`version must be an integer of 1 or more; got ${String(version)}`);
  if (!isStandardSchema(schema)) {
    problems.push('schema must be a Standard Schema validator (zod, valibot, arktype, …)');
  }
  for (const [key, value] of Object.entries(options.upcasters ?? {})) {
    const from = Number(key);
    if (!Number.isInteger(from) || from < 1 || from >= version) {
      problems.push(`upcaster key ${key} must be an older version, an integer from 1 to ${version - 1}`);
    } else if (!isStandardSchema(value?.schema) || typeof value.upcast !== 'function') {
      problems.push(`upcaster ${key} needs { schema, upcast } (use upcaster(schema, fn))`);
    } else {
      upcasters.set(from, value as Upcaster);
    }
  }
  const oldest = upcasters.size === 0 ? version : Math.min(...upcasters.keys());
  for (let v = oldest; v < version; v += 1) {
    if (!upcasters.has(v))
      problems.push(`upcaster for version ${v} is missing: the chain from ${oldest} to ${version} has a gap`);
  }
  if (problems.length > 0) throw invalidOptions(`defineEvent(${JSON.stringify(type)})`, problems);

  const versions = Object.freeze(Array.from({ length: version - oldest + 1 }, (_, i) => oldest + i));

  const validate = (at: number, value: unknown, s: StandardSchemaV1): unknown => {
    const result = validateSync(s, value, `${type} v${at}`);
    if (!result.ok) throw new SchemaInvalidError(type, at, result.issues);
    return result.value;
  };

  const parse = (data: unknown, from: number = version): Data => {
    if (!Number.isInteger(from) || from > version) {
      throw new TidingsError(
        'TIDINGS_VERSION_UNSUPPORTED',
        `${type} v${String(from)} is newer than this code knows (latest: v${version}). ` +
          'Deploy the consumer with the new event definition before its producers, or keep producing the older version.',
        { details: { type, version: from, latest: version } },
      );
    }
    let value = data;
    for (let v = from; v < version; v += 1) {
      const step = upcasters.get(v);
      if (step === undefined) {
        throw new TidingsError(
          'TIDINGS_VERSION_UNSUPPORTED',
          `${type} v${v} cannot be read: the oldest version with an upcaster is v${oldest}. ` +
            `Declare upcasters: { ${v}: upcaster(schemaV${v}, (data) => …) } on ${type}.`,
          { details: { type, version: from, oldest } },
        );
      }
      value = step.upcast(validate(v, value, step.schema));
    }
    return validate(version, value, schema);
  };

  const checkType = (event: Event): void => {
    if (event.type !== type) {
      throw new TidingsError(
        'TIDINGS_UNKNOWN_TYPE',
        `${type}.upgrade was given an event of type ${event.type}.`,
      );
    }
  };

  const adopt = (event: Event): Event => {
    checkType(event);
    // Upcasters see frozen data, as they do through upgrade: one that changes its input fails the same.
    if (event.version !== version) deepFreeze(event.data);
    const data = parse(event.data, event.version);
    const owned = event as { -readonly [K in keyof Event]: Event[K] };
    owned.version = version;
    owned.data = data;
    return deepFreeze(owned);
  };

  const definition: EventDefinition<TType, Data, StandardSchemaV1.InferInput<S>> = {
    type,
    version,
    versions,
    description,
    schema: schema,
    create(data, init) {
      const valid = validate(version, data, schema) as Data;
      const withSource = init?.source === undefined && source !== undefined ? { ...init, source } : init;
      return createEvent(type, version, valid, withSource);
    },
    is(event): event is Event<TType, Data> {
      return event.type === type;
    },
    parse,
    upgrade(event) {
      checkType(event);
      const data = parse(event.data, event.version);
      if (event.version === version && data === event.data) return event as Event<TType, Data>;
      return deepFreeze({ ...event, version, data }) as Event<TType, Data>;
    },
    jsonSchema(at = version) {
      if (at === version) return options.jsonSchema ?? jsonSchemaOf(schema);
      const step = upcasters.get(at);
      return step === undefined ? undefined : (step.jsonSchema ?? jsonSchemaOf(step.schema));
    },
  };
  adopters.set(definition, adopt);
  return Object.freeze(definition);
}
