import { afterEach, beforeEach, describe, test } from 'vitest';
import { describeTransportSuite } from '@tidings/core/testing';
import { memoryTransport } from './memory-transport.ts';

describeTransportSuite(
  { describe, test, beforeEach, afterEach },
  {
    name: 'memory',
    clock: 'manual',
    create: ({ clock }) => memoryTransport({ clock }),
    skip: [
      {
        test: 'redelivers what a consumer killed with SIGKILL was handling',
        reason: 'in-process transport: nothing survives the process',
      },
    ],
  },
);
