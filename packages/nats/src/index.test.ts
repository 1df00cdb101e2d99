import { expect, it } from 'vitest';
import * as nats from './index.ts';

it('exports exactly the public API', () => {
  expect(Object.keys(nats).sort()).toEqual(['NATS_CAPABILITIES', 'NATS_DEFAULTS', 'natsTransport']);
});
