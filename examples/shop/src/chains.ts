import type { Event } from '@tidings/core';

const short = (id: string | undefined): string => (id === undefined ? '-' : `…${id.slice(-8)}`);

/** Renders events as one tree per correlation id, each event under the event that caused it. */
export function formatChains(events: readonly Event[], title: (root: Event) => string): string {
  const byCorrelation = new Map<string, Event[]>();
  for (const event of events) {
    const chain = byCorrelation.get(event.correlationId) ?? [];
    chain.push(event);
    byCorrelation.set(event.correlationId, chain);
  }
  const lines: string[] = [];
  for (const [correlationId, chain] of byCorrelation) {
    const ids = new Set(chain.map((event) => event.id));
    const children = new Map<string | undefined, Event[]>();
    for (const event of chain) {
      const parent =
        event.causationId !== undefined && ids.has(event.causationId) ? event.causationId : undefined;
      children.set(parent, [...(children.get(parent) ?? []), event]);
    }
    const roots = children.get(undefined) ?? [];
    lines.push(`${title(roots[0] ?? (chain[0] as Event))}  correlation ${short(correlationId)}`);
    const walk = (event: Event, prefix: string, last: boolean, depth: number): void => {
      const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
      const label = `${prefix}${branch}${event.type} v${event.version}`;
      const cause = event.causationId === undefined ? 'root' : `caused by ${short(event.causationId)}`;
      lines.push(`  ${label.padEnd(44)} id ${short(event.id)}  ${cause}`);
      const next = children.get(event.id) ?? [];
      const childPrefix = depth === 0 ? '' : prefix + (last ? '   ' : '│  ');
      next.forEach((child, index) => walk(child, childPrefix, index === next.length - 1, depth + 1));
    };
    roots.forEach((root, index) => walk(root, '', index === roots.length - 1, 0));
    lines.push('');
  }
  return lines.join('\n');
}
