import { afterEach, beforeEach, describe, test } from 'vitest';
import { describeTransportSuite } from '@tidings/core/testing';
import { sqliteTransport } from './transport.ts';

// Every case on a private in-memory database and the suite's manual clock. The SIGKILL case needs a
// child process, which cannot share a manual clock: it runs in multi-process.test.ts on real time.
describeTransportSuite(
  { describe, test, beforeEach, afterEach },
  {
    name: 'sqlite',
    clock: 'manual',
    create: ({ clock }) => sqliteTransport({ file: ':memory:', clock }),
  },
);
