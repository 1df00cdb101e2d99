import { describe, test } from 'vitest';
import { describeEventStoreSuite } from '../testing/store-suite.ts';
import { memoryEventStore } from './memory-store.ts';

describeEventStoreSuite(
  { describe, test },
  {
    name: 'memory',
    clock: 'manual',
    capabilities: { durable: false, multiProcess: false },
    create: ({ catalog, clock, projections }) => memoryEventStore({ catalog, clock, projections }),
  },
);
