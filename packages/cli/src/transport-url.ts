/**
 * Opens a transport from a URL, so the operator commands work on every broker Tidings runs on:
 * `postgres://…?schema=tidings`, `redis://…?prefix=tidings`, `nats://…?prefix=tidings`,
 * `amqp://…?prefix=tidings`, `aws://…?region=us-east-1&prefix=tidings`, and `sqlite:<file>`. The adapter package is imported only when its URL
 * is used, so a project installs just the one it runs on.
 */
import type { Transport } from '@tidings/core';
import { CliError, usageError } from './errors.ts';

/** How each URL scheme maps onto an adapter package and its factory. */
interface Adapter {
  readonly package: string;
  readonly factory: string;
  /** The factory's options, from the URL (Tidings' own query parameters already taken out). */
  options(url: URL, tidings: Readonly<Record<string, string>>): Record<string, unknown>;
  /** The query parameters that belong to Tidings, not to the broker's client. */
  readonly params: readonly string[];
}

const ADAPTERS: Readonly<Record<string, Adapter>> = {
  'postgres:': {
    package: '@tidings/postgres',
    factory: 'postgresTransport',
    params: ['schema'],
    options: (url, { schema }) => ({ connectionString: url.href, ...(schema ? { schema } : {}) }),
  },
  'redis:': {
    package: '@tidings/redis',
    factory: 'redisTransport',
    params: ['prefix'],
    options: (url, { prefix }) => ({ url: url.href, ...(prefix ? { prefix } : {}) }),
  },
  'nats:': {
    package: '@tidings/nats',
    factory: 'natsTransport',
    params: ['prefix'],
    options: (url, { prefix }) => ({ servers: url.href, ...(prefix ? { prefix } : {}) }),
  },
  'amqp:': {
    package: '@tidings/rabbitmq',
    factory: 'rabbitmqTransport',
    params: ['prefix'],
    options: (url, { prefix }) => ({ url: url.href, ...(prefix ? { prefix } : {}) }),
  },
  // aws://[key:secret@]host:port names an endpoint (an emulator, http unless tls=true); aws:// alone is AWS.
  'aws:': {
    package: '@tidings/aws',
    factory: 'awsTransport',
    params: ['prefix', 'region', 'fifo', 'tls'],
    options: (url, { prefix, region, fifo, tls }) => ({
      ...(url.host ? { endpoint: `${tls === 'true' ? 'https' : 'http'}://${url.host}` } : {}),
      ...(url.username
        ? {
            credentials: {
              accessKeyId: decodeURIComponent(url.username),
              secretAccessKey: decodeURIComponent(url.password),
            },
          }
        : {}),
      ...(region ? { region } : {}),
      ...(prefix ? { prefix } : {}),
      ...(fifo === 'true' ? { fifo: true } : {}),
    }),
  },
};
const ALIASES: Readonly<Record<string, string>> = {
  'postgresql:': 'postgres:',
  'rediss:': 'redis:',
  'tls:': 'nats:',
  'amqps:': 'amqp:',
  'sqs:': 'aws:',
};

/** The schemes `--transport` accepts, for help and error texts. */
export const TRANSPORT_URL_FORMS =
  'postgres://host/db?schema=tidings, redis://host:6379?prefix=tidings, nats://host:4222?prefix=tidings, ' +
  'amqp://user:pass@host:5672?prefix=tidings, aws://?region=us-east-1&prefix=tidings ' +
  '(aws://key:secret@host:4566 for an emulator), or sqlite:<file>';

/** Which adapter a URL names, and the options for its factory. @internal */
export function parseTransportUrl(text: string): {
  package: string;
  factory: string;
  options: Record<string, unknown>;
} {
  if (text.startsWith('sqlite:')) {
    const file = text.slice('sqlite:'.length).replace(/^\/\//, '');
    if (file === '') throw usageError(`--transport sqlite: needs a file, as in sqlite:shop.db`);
    return { package: '@tidings/sqlite', factory: 'sqliteTransport', options: { file } };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`--transport ${text} is not a URL; give one of ${TRANSPORT_URL_FORMS}.`);
  }
  const scheme = ALIASES[url.protocol] ?? url.protocol;
  const adapter = ADAPTERS[scheme];
  if (adapter === undefined) {
    throw usageError(
      `--transport ${url.protocol} is not a scheme Tidings knows; give one of ${TRANSPORT_URL_FORMS}.`,
    );
  }
  const tidings: Record<string, string> = {};
  for (const name of adapter.params) {
    const value = url.searchParams.get(name);
    if (value !== null) tidings[name] = value;
    url.searchParams.delete(name);
  }
  return { package: adapter.package, factory: adapter.factory, options: adapter.options(url, tidings) };
}

/**
 * Makes the transport a URL names; it connects when first used.
 *
 * @throws CliError with exit code 2 for a URL no adapter takes, and 1 when the adapter package is not
 * installed or refuses the options.
 *
 * @example
 * const transport = await openTransportUrl('redis://127.0.0.1:6379?prefix=shop');
 */
export function openTransportUrl(text: string): Promise<Transport> {
  return openAdapter<Transport>(parseTransportUrl(text), text);
}

/**
 * Imports an adapter package (only now, so a project installs just the one it runs on) and calls one
 * of its factories with the options parsed from `text`. Shared by the transport and store URLs.
 *
 * @throws CliError with exit code 1 when the package is not installed, lacks the factory or refuses the options.
 * @internal
 */
export async function openAdapter<T>(
  parsed: { readonly package: string; readonly factory: string; readonly options: Record<string, unknown> },
  text: string,
): Promise<T> {
  let module: Record<string, unknown>;
  try {
    module = (await import(parsed.package)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(
      `${parsed.package} is needed for ${text.split(':')[0]} URLs and could not be loaded: install it next to ` +
        `@tidings/cli (npm install ${parsed.package}).`,
      1,
      { cause: error },
    );
  }
  const factory = module[parsed.factory];
  if (typeof factory !== 'function') {
    throw new CliError(`${parsed.package} has no ${parsed.factory}; update it to the CLI's version.`, 1);
  }
  try {
    return await (factory as (options: unknown) => T | Promise<T>)(parsed.options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`Could not open ${text}: ${reason}`, 1, { cause: error });
  }
}
