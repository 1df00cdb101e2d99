import type { AnyEventDefinition, Catalog, EventsOf } from './catalog.ts';
import type { BusOptions, Handler, SubscribeOptions } from './bus.ts';
import type { Event } from './envelope.ts';
import { invalidOptions } from './errors.ts';
import { compileFilter, matchesPattern } from './filter.ts';
import { DEFAULT_RETRY, type RetryOptions, retryProblems } from './middleware/retry.ts';
import type { Transport } from './transport.ts';

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_LEASE_MS = 30_000;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** What a subscription resolved to once its options were checked. @internal */
export interface Plan<E extends readonly AnyEventDefinition[]> {
  topics: readonly string[];
  name: string;
  concurrency: number;
  ordered: boolean;
  leaseMs: number;
  timeoutMs: number;
  maxDeliveries: number;
  retry: RetryOptions | false;
  matches: (event: Event) => boolean;
  handlerFor: (type: string) => Handler<EventsOf<E>> | undefined;
}

/** Checks subscribe options against the catalog and the transport, listing every problem at once. @internal */
export function planSubscription<E extends readonly AnyEventDefinition[]>(
  catalog: Catalog<E>,
  transport: Transport,
  sub: SubscribeOptions<E>,
  busOptions: BusOptions<E>,
): Plan<E> {
  const problems: string[] = [];
  const known = catalog.events.map((definition) => definition.type);
  const topics = new Set<string>();
  if (typeof sub?.group !== 'string' || !GROUP_NAME.test(sub.group)) {
    problems.push(
      `group must be 1-100 letters, digits, ".", "_" or "-" (got ${JSON.stringify(sub?.group)}), e.g. { group: "billing" }`,
    );
  }
  for (const type of Object.keys(sub.handlers ?? {})) {
    if (known.includes(type)) topics.add(type);
    else problems.push(`handlers.${type}: ${type} is not in the catalog`);
  }
  for (const entry of sub.events ?? []) {
    const type = typeof entry === 'string' ? entry : entry?.type;
    if (known.includes(type)) topics.add(type);
    else problems.push(`events: ${String(type)} is not in the catalog`);
  }
  for (const pattern of sub.patterns ?? []) {
    const found = known.filter((type) => matchesPattern(pattern, type));
    if (found.length === 0) problems.push(`patterns: "${pattern}" matches no event type in the catalog`);
    for (const type of found) topics.add(type);
  }
  if (sub.handler !== undefined && typeof sub.handler !== 'function')
    problems.push('handler must be a function');
  if (sub.handler === undefined && sub.handlers === undefined)
    problems.push('give a handler (with events or patterns) or handlers by event type');
  if (sub.handler !== undefined && (sub.events ?? sub.patterns) === undefined && sub.handlers === undefined) {
    problems.push(
      'handler needs events or patterns saying what it receives, e.g. { events: [OrderPlaced] } or { patterns: ["*"] }',
    );
  }
  if (topics.size === 0 && problems.length === 0) problems.push('the subscription receives no event type');
  const concurrency = sub.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000)
    problems.push(`concurrency must be a whole number from 1 to 10000; got ${String(concurrency)}`);
  const ordered = sub.ordered ?? false;
  const capabilities = transport.capabilities;
  if (ordered && capabilities.ordering !== 'per-subject') {
    problems.push(
      `ordered: ${transport.name} does not keep per-subject order (its ordering is "${capabilities.ordering}"); drop ordered or use a transport that does`,
    );
  }
  const timeoutMs = sub.timeoutMs ?? busOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const leaseMs = sub.leaseMs ?? DEFAULT_LEASE_MS;
  if (!(timeoutMs > 0)) problems.push(`timeoutMs must be positive; got ${String(timeoutMs)}`);
  if (!(leaseMs >= 10)) problems.push(`leaseMs must be at least 10; got ${String(leaseMs)}`);
  let retryPolicy: RetryOptions | false = sub.retry ?? busOptions.retry ?? {};
  if (retryPolicy !== false) {
    problems.push(...retryProblems(retryPolicy).map((p) => `retry.${p}`));
    if (!capabilities.delayedDelivery) {
      if (retryPolicy.delays !== undefined && retryPolicy.delays.length > 0) {
        problems.push(
          `retry.delays: ${transport.name} cannot delay a redelivery; use immediate retries only (delays: [])`,
        );
      }
      retryPolicy = { ...retryPolicy, delays: [] };
    }
  }
  let filter: (event: Event) => boolean = () => true;
  try {
    filter = compileFilter(sub.filter);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (!capabilities.consumerGroups && sub.concurrency !== undefined && sub.concurrency > 1) {
    // Without groups every member sees every message; concurrency still applies within the member.
  }
  if (problems.length > 0) throw invalidOptions(`subscribe(${JSON.stringify(sub?.group)})`, problems);
  const delays = retryPolicy === false ? [] : (retryPolicy.delays ?? DEFAULT_RETRY.delays);
  const handlers = (sub.handlers ?? {}) as Record<string, Handler<EventsOf<E>> | undefined>;
  const fallback = sub.handler;
  const subscribed = new Set(sub.events === undefined && sub.patterns === undefined ? [] : topics);
  return {
    topics: [...topics],
    name: sub.name ?? sub.group,
    concurrency,
    ordered,
    leaseMs,
    timeoutMs,
    // Each delayed step is one delivery; two more allow for crashes before a process gives up on it.
    maxDeliveries: sub.maxDeliveries ?? delays.length + 3,
    retry: retryPolicy,
    matches: filter,
    handlerFor: (type) => handlers[type] ?? (subscribed.has(type) ? fallback : undefined),
  };
}
