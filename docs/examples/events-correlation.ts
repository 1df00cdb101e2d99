import assert from 'node:assert/strict';
import { runWithCause } from '@tidings/core';
import { OrderPlaced, PaymentFailed } from './events-define.ts';

const placed = OrderPlaced.create({ orderId: 'o-3', total: 5, currency: 'EUR' });

// Whatever handles `placed` creates its events inside this scope (the bus and emitter do it for you).
const failed = await runWithCause(placed, async () => {
  await Promise.resolve(); // the cause survives awaits
  return PaymentFailed.create({ orderId: 'o-3', reason: 'card declined' });
});

assert.equal(failed.correlationId, placed.correlationId);
assert.equal(failed.causationId, placed.id);
