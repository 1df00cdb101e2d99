import { invalidOptions } from '../errors.ts';
import type { MaybePromise } from './projection.ts';
import { type ProjectionKv, andThen } from './projection-storage.ts';

/**
 * JSON documents of one projection version, grouped in collections and found by id, written inside
 * the projection's transaction. SQLite returns plain values, PostgreSQL promises: `await` them, or
 * return the call from `apply`.
 */
export interface ProjectionDocuments {
  get<T = unknown>(collection: string, id: string): MaybePromise<T | undefined>;
  /** Stores `document` (any JSON value) under the id, replacing what was there. */
  put(collection: string, id: string, document: unknown): MaybePromise<void>;
  /** Reads, changes and stores a document in one call; `change` returning `undefined` deletes it. */
  update<T = unknown>(
    collection: string,
    id: string,
    change: (current: T | undefined) => T | undefined,
  ): MaybePromise<void>;
  delete(collection: string, id: string): MaybePromise<void>;
}

/** A stored document and its id. */
export interface StoredDocument<T = unknown> {
  readonly id: string;
  readonly document: T;
}

/** Reads the documents of a projection's live version, outside any transaction. */
export interface DocumentReader {
  get<T = unknown>(collection: string, id: string): Promise<T | undefined>;
  /** The documents of a collection in id order, `limit` at a time (default 1 000), after `after`. */
  list<T = unknown>(
    collection: string,
    options?: { readonly after?: string | undefined; readonly limit?: number | undefined },
  ): Promise<readonly StoredDocument<T>[]>;
}

/** The key-value space of a projection version's collection. @internal */
export const documentSpace = (name: string, version: number, collection: string): string =>
  `doc:${name}@${version}:${collection}`;

/** The prefix of every document space of a projection version. @internal */
export const documentPrefix = (name: string, version: number): string => `doc:${name}@${version}:`;

function checkKey(where: string, collection: unknown, id: unknown): void {
  const problems: string[] = [];
  if (typeof collection !== 'string' || collection.length === 0) {
    problems.push(`collection must be a non-empty string (got ${JSON.stringify(collection)})`);
  }
  if (typeof id !== 'string' || id.length === 0) {
    problems.push(`id must be a non-empty string (got ${JSON.stringify(id)})`);
  }
  if (problems.length > 0) throw invalidOptions(where, problems);
}

function encode(where: string, document: unknown): string {
  const text = document === undefined ? undefined : JSON.stringify(document);
  if (text === undefined) {
    throw invalidOptions(where, ['the document must be a JSON value (not undefined or a function)']);
  }
  return text;
}

const decode = <T>(text: string | undefined): T | undefined =>
  text === undefined ? undefined : (JSON.parse(text) as T);

/** Documents of one projection version over a transaction's key-value table. @internal */
export function documentsOn(kv: ProjectionKv, name: string, version: number): ProjectionDocuments {
  const space = (collection: string): string => documentSpace(name, version, collection);
  return {
    get<T>(collection: string, id: string) {
      checkKey('documents.get', collection, id);
      return andThen(kv.get(space(collection), id), (text) => decode<T>(text));
    },
    put(collection, id, document) {
      checkKey('documents.put', collection, id);
      return kv.put(space(collection), id, encode(`documents.put("${collection}", "${id}")`, document));
    },
    update<T>(collection: string, id: string, change: (current: T | undefined) => T | undefined) {
      checkKey('documents.update', collection, id);
      if (typeof change !== 'function') {
        throw invalidOptions('documents.update', ['change must be a function (current) => next']);
      }
      return andThen(kv.get(space(collection), id), (text) => {
        const next = change(decode<T>(text));
        return next === undefined
          ? kv.delete(space(collection), id)
          : kv.put(space(collection), id, encode(`documents.update("${collection}", "${id}")`, next));
      });
    },
    delete(collection, id) {
      checkKey('documents.delete', collection, id);
      return kv.delete(space(collection), id);
    },
  };
}

/** Reads documents of whichever version `version()` names when called. @internal */
export function documentReader(
  kv: Pick<ProjectionKv, 'get' | 'list'>,
  name: string,
  version: () => Promise<number>,
): DocumentReader {
  return {
    async get<T>(collection: string, id: string) {
      checkKey('documents.get', collection, id);
      return decode<T>(await kv.get(documentSpace(name, await version(), collection), id));
    },
    async list<T>(collection: string, options: { after?: string; limit?: number } = {}) {
      checkKey('documents.list', collection, 'all');
      const limit = options.limit ?? 1_000;
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw invalidOptions('documents.list', [
          `limit must be a whole number of 1 or more (got ${String(limit)})`,
        ]);
      }
      const rows = await kv.list(documentSpace(name, await version(), collection), {
        after: options.after,
        limit,
      });
      return rows.map(([id, text]) => ({ id, document: JSON.parse(text) as T }));
    },
  };
}
