import type { CatalogEntry } from './catalog.ts';

/** One design problem the catalog lint found. */
export interface CatalogFinding {
  readonly rule: 'past-tense' | 'no-producer' | 'no-consumer';
  readonly type: string;
  readonly message: string;
}

// Past participles that do not end in "-ed"; a type ending in one of these still reads as a fact.
const IRREGULAR = new Set(
  (
    'Begun Bought Brought Built Caught Chosen Done Drawn Dealt Found Frozen Given Gone Got Gotten Grown Held Hidden ' +
    'Kept Known Laid Left Lent Lost Made Meant Met Paid Put Read Rebuilt Redone Reset Run Said Seen Sent Set Shown ' +
    'Shut Sold Spent Split Spread Struck Taken Taught Thought Told Thrown Understood Undone Upheld Withdrawn Won Written ' +
    'Cut Hit Let Quit Bid Cast Broken Spoken Stolen Woken Ridden Driven Forgotten Forbidden Overdrawn'
  ).split(' '),
);

/** True when the last word of a PascalCase type reads as a past participle (`OrderPlaced`, `InvoiceSent`). */
export function readsAsPastTense(type: string): boolean {
  const name = type.slice(type.lastIndexOf('.') + 1);
  const words = name.match(/[A-Z][a-z0-9]*/g) ?? [name];
  const last = words[words.length - 1] ?? name;
  return last.endsWith('ed') || IRREGULAR.has(last);
}

/** Checks a catalog against the practices events depend on. @internal */
export function lintCatalog(
  entries: readonly CatalogEntry[],
  hasProducers: boolean,
  hasConsumers: boolean,
): CatalogFinding[] {
  const findings: CatalogFinding[] = [];
  for (const entry of entries) {
    if (!readsAsPastTense(entry.type)) {
      findings.push({
        rule: 'past-tense',
        type: entry.type,
        message: `${entry.type} reads like a command; events are facts, name it in the past tense (e.g. OrderPlaced, not PlaceOrder)`,
      });
    }
    if (hasProducers && entry.producers.length === 0) {
      findings.push({
        rule: 'no-producer',
        type: entry.type,
        message: `${entry.type} has no producer in the catalog`,
      });
    }
    if (hasConsumers && entry.consumers.length === 0) {
      findings.push({
        rule: 'no-consumer',
        type: entry.type,
        message: `${entry.type} has no consumer in the catalog`,
      });
    }
  }
  return findings;
}
