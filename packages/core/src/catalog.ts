import { fromCloudEvent } from './cloudevents.ts';
import { adoptEvent, type EventDefinition, type EventOf } from './define-event.ts';
import type { Event } from './envelope.ts';
import { invalidOptions, TidingsError } from './errors.ts';
import { deepFreeze, describe } from './envelope.ts';
import { lintCatalog, type CatalogFinding } from './catalog-lint.ts';

/** Any event definition, whatever its type and data. */
// `any` on purpose: a definition of any data must fit, whichever way TypeScript checks the variance.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEventDefinition = EventDefinition<string, any, any>;

/** The union of the events a list of definitions describes. */
export type EventsOf<E extends readonly AnyEventDefinition[]> = EventOf<E[number]>;

/** The event types (names) of a list of definitions. */
export type TypesOf<E extends readonly AnyEventDefinition[]> = E[number]['type'];

/** Options of {@link createCatalog}. */
export interface CatalogOptions<E extends readonly AnyEventDefinition[]> {
  /** Every event type of the system. */
  events: E;
  /** Component name → the events it produces. */
  producers?: Readonly<Record<string, readonly E[number][]>>;
  /** Component name → the events it consumes. */
  consumers?: Readonly<Record<string, readonly E[number][]>>;
  /** A title for generated documentation. */
  title?: string;
}

/** What the catalog knows of one event type, as plain data for documentation and tools. */
export interface CatalogEntry {
  readonly type: string;
  readonly version: number;
  readonly versions: readonly number[];
  readonly description: string | undefined;
  readonly producers: readonly string[];
  readonly consumers: readonly string[];
}

/** The registry of a system's events: who produces and consumes each, and how to read them. */
export interface Catalog<E extends readonly AnyEventDefinition[] = readonly AnyEventDefinition[]> {
  readonly title: string;
  readonly events: E;
  /** The definition of a type, or `undefined`. */
  get<T extends string>(type: T): Extract<E[number], { type: T }> | undefined;
  /**
   * Reads a CloudEvent (structured object, JSON text, or `{ headers, body }`), validates and upcasts its
   * data, and returns a frozen event of the latest version.
   *
   * @throws TidingsError `TIDINGS_MALFORMED`, `TIDINGS_UNKNOWN_TYPE`, `TIDINGS_SCHEMA_INVALID` or
   * `TIDINGS_VERSION_UNSUPPORTED`, each naming what was wrong.
   */
  decode(input: unknown): EventsOf<E>;
  /** Validates and upcasts an already-parsed event to its latest version. */
  upgrade(event: Event): EventsOf<E>;
  /** The components that produce `type`. */
  producersOf(type: TypesOf<E>): readonly string[];
  /** The components that consume `type`. */
  consumersOf(type: TypesOf<E>): readonly string[];
  /** One entry per event type, in declaration order. */
  entries(): readonly CatalogEntry[];
  /** Design problems: command-like names, events nobody produces or consumes. */
  lint(): readonly CatalogFinding[];
}

// The internal readers of catalogs made by createCatalog, by catalog: see adoptFromCatalog.
const adopters = new WeakMap<object, (event: Event) => Event>();

/**
 * Records every event of a system, with its producers and consumers.
 *
 * @example
 * const catalog = createCatalog({
 *   events: [OrderPlaced, PaymentFailed],
 *   producers: { orders: [OrderPlaced], payments: [PaymentFailed] },
 *   consumers: { payments: [OrderPlaced], orders: [PaymentFailed] },
 * });
 * const event = catalog.decode(requestBody); // typed union of OrderPlaced | PaymentFailed
 */
export function createCatalog<const E extends readonly AnyEventDefinition[]>(
  options: CatalogOptions<E>,
): Catalog<E> {
  const byType = new Map<string, AnyEventDefinition>();
  const problems: string[] = [];
  if (!Array.isArray(options?.events)) {
    throw invalidOptions('createCatalog', ['events must be an array of definitions made with defineEvent']);
  }
  for (const [index, definition] of options.events.entries()) {
    if (typeof definition?.type !== 'string' || typeof definition.parse !== 'function') {
      problems.push(`events[${index}] is not an event definition; make it with defineEvent()`);
    } else if (byType.has(definition.type)) {
      problems.push(`${definition.type} is listed twice; declare each type once, with all its versions`);
    } else {
      byType.set(definition.type, definition);
    }
  }
  const roles = (kind: 'producers' | 'consumers'): Map<string, string[]> => {
    const result = new Map<string, string[]>();
    for (const [component, list] of Object.entries(options[kind] ?? {})) {
      for (const definition of list) {
        if (!byType.has(definition?.type)) {
          problems.push(
            `${kind}.${component} names ${definition?.type ?? describe(definition)}, which is not in events`,
          );
          continue;
        }
        const names = result.get(definition.type) ?? [];
        names.push(component);
        result.set(definition.type, names);
      }
    }
    return result;
  };
  const producers = roles('producers');
  const consumers = roles('consumers');
  if (problems.length > 0) throw invalidOptions('createCatalog', problems);

  const definitionOf = (event: Event): AnyEventDefinition => {
    const definition = byType.get(event.type);
    if (definition === undefined) {
      throw new TidingsError(
        'TIDINGS_UNKNOWN_TYPE',
        `Unknown event type "${event.type}" (id ${event.id}): it is not in the catalog. ` +
          `Known types: ${[...byType.keys()].join(', ')}. Add its definition to createCatalog({ events }).`,
        { details: { type: event.type, id: event.id } },
      );
    }
    return definition;
  };
  const upgrade = (event: Event): EventsOf<E> => definitionOf(event).upgrade(event) as EventsOf<E>;

  const catalog: Catalog<E> = {
    title: options.title ?? 'Event catalog',
    events: options.events,
    get: (type) => byType.get(type) as never,
    decode: (input) => upgrade(fromCloudEvent(input)),
    upgrade,
    producersOf: (type) => producers.get(type) ?? [],
    consumersOf: (type) => consumers.get(type) ?? [],
    entries: () =>
      options.events.map((definition) => ({
        type: definition.type,
        version: definition.version,
        versions: definition.versions,
        description: definition.description,
        producers: producers.get(definition.type) ?? [],
        consumers: consumers.get(definition.type) ?? [],
      })),
    lint: () =>
      lintCatalog(catalog.entries(), options.producers !== undefined, options.consumers !== undefined),
  };
  adopters.set(catalog, (event) => adoptEvent(definitionOf(event), event));
  return Object.freeze(catalog);
}

/**
 * `catalog.upgrade(event)` for an unfrozen event the caller built and hands over (see adoptEvent); a
 * catalog not made by createCatalog gets its own `upgrade`, with the event frozen first.
 * @internal
 */
export function adoptFromCatalog(catalog: Catalog, event: Event): Event {
  const adopt = adopters.get(catalog);
  return adopt === undefined ? catalog.upgrade(deepFreeze(event)) : adopt(event);
}
