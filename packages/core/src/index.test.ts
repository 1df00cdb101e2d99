import { expect, it } from 'vitest';
import * as api from './index.ts';
import * as testing from './testing/index.ts';

// Every addition to the public surface is a deliberate change to this list.
it('exports exactly the hand-picked public API', () => {
  expect(Object.keys(api).sort()).toEqual([
    'ConcurrencyError',
    'DEFAULT_RETRY',
    'DEFAULT_SOURCE',
    'NonRetryableError',
    'SchemaInvalidError',
    'TidingsError',
    'catalogToAsyncApi',
    'catalogToMarkdown',
    'checkPublish',
    'compileFilter',
    'correlation',
    'createBus',
    'createCatalog',
    'createDeadLetters',
    'createEmitter',
    'createEvent',
    'createMetrics',
    'currentCause',
    'decodeBody',
    'decodeHeaders',
    'defineEvent',
    'encodeHeaders',
    'failureFingerprint',
    'fromBinaryCloudEvent',
    'fromCloudEvent',
    'fromTransportMessage',
    'idempotent',
    'invalidOptions',
    'isRetryable',
    'isTidingsError',
    'matchesPattern',
    'measure',
    'memoryInbox',
    'memoryTransport',
    'newEventId',
    'noopMetrics',
    'permanent',
    'readsAsPastTense',
    'retry',
    'rowToMessage',
    'runWithCause',
    'systemClock',
    'timeout',
    'toBinaryCloudEvent',
    'toCloudEvent',
    'toTransportMessage',
    'upcaster',
    'validate',
  ]);
});

it('exports exactly the hand-picked testing API', () => {
  expect(Object.keys(testing).sort()).toEqual([
    'busCases',
    'createLedger',
    'createManualClock',
    'describeTransportSuite',
    'eventually',
    'gate',
    'transportCases',
  ]);
});
