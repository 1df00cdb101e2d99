import { describeEventStoreSuite } from '@tidings/core/testing';
import { describe, test } from 'vitest';
import { sqliteEventStore } from './event-store.ts';

// Every case on a private in-memory database and the suite's manual clock; several processes sharing a
// file are tested in event-store.multi-process.test.ts.
describeEventStoreSuite(
  { describe, test },
  {
    name: 'sqlite',
    clock: 'manual',
    capabilities: { durable: true, multiProcess: true },
    create: ({ catalog, clock, projections }) =>
      sqliteEventStore({ file: ':memory:', catalog, clock, projections }),
  },
);
