import { expect, it } from 'vitest';
import * as api from './index.ts';

it('exports exactly the hand-picked public API', () => {
  expect(Object.keys(api).sort()).toEqual([
    'EVENT_STORE_SCHEMA_VERSION',
    'SCHEMA_VERSION',
    'SQLITE_CAPABILITIES',
    'SQLITE_DEFAULTS',
    'SQLITE_MAX_MESSAGE_BYTES',
    'SQLITE_STORE_CAPABILITIES',
    'sqliteEventStore',
    'sqliteInbox',
    'sqliteTransport',
  ]);
});
