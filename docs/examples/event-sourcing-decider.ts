import assert from 'node:assert/strict';
import { defineDecider, defineEvent, type EventOf, handleCommand, memoryEventStore } from '@tidings/core';
import { deciderSpec } from '@tidings/core/testing';
import { z } from 'zod';

const ItemAdded = defineEvent({
  type: 'ItemAdded',
  schema: z.object({ sku: z.string(), price: z.number() }),
});
const CartCheckedOut = defineEvent({ type: 'CartCheckedOut', schema: z.object({ total: z.number() }) });
type CartEvent = EventOf<typeof ItemAdded> | EventOf<typeof CartCheckedOut>;
type CartCommand = { type: 'AddItem'; sku: string; price: number } | { type: 'CheckOut' };
interface Cart {
  readonly total: number;
  readonly open: boolean;
}

// The rules, as two pure functions: no store, no I/O, nothing to mock.
const cart = defineDecider<Cart, CartCommand, CartEvent>({
  initialState: () => ({ total: 0, open: true }),
  decide: (command, state) => {
    if (!state.open) throw new Error('the cart is checked out');
    if (command.type === 'AddItem') return ItemAdded.create({ sku: command.sku, price: command.price });
    return state.total === 0 ? [] : CartCheckedOut.create({ total: state.total });
  },
  evolve: (state, event) =>
    ItemAdded.is(event) ? { ...state, total: state.total + event.data.price } : { ...state, open: false },
});

// Given these events, when this command, then these events (or this error): in any test runner.
const { given } = deciderSpec(cart);
await given([ItemAdded.create({ sku: 'tea', price: 4 })])
  .when({ type: 'CheckOut' })
  .then([{ type: 'CartCheckedOut', data: { total: 4 } }]);
await given([CartCheckedOut.create({ total: 4 })])
  .when({ type: 'AddItem', sku: 'cup', price: 9 })
  .then(/checked out/);
await given([]).when({ type: 'CheckOut' }).then([]);

// Against a store: read, decide, append expecting the version read; on a conflict, all of it again.
const store = memoryEventStore();
await handleCommand(store, 'cart-7', cart, { type: 'AddItem', sku: 'tea', price: 4 });
await Promise.all([
  handleCommand(store, 'cart-7', cart, { type: 'AddItem', sku: 'cup', price: 9 }),
  handleCommand(store, 'cart-7', cart, { type: 'AddItem', sku: 'pot', price: 30 }),
]);
const result = await handleCommand(store, 'cart-7', cart, { type: 'CheckOut' });
assert.deepEqual(result.state, { total: 43, open: false });
assert.equal(result.streamVersion, 4);
