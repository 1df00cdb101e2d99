import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import { defineEvent } from '../define-event.ts';
import type { EventOf } from '../define-event.ts';
import { ConcurrencyError, isTidingsError, TidingsError } from '../errors.ts';
import { deciderSpec } from '../testing/given.ts';
import { defineDecider, handleCommand } from './decider.ts';
import { memoryEventStore } from './memory-store.ts';
import type { EventStore } from './types.ts';

const schema = <T>() => ({
  '~standard': { version: 1 as const, vendor: 'test', validate: (value: unknown) => ({ value: value as T }) },
});
const ItemAdded = defineEvent({ type: 'ItemAdded', schema: schema<{ sku: string }>() });
const CartCheckedOut = defineEvent({ type: 'CartCheckedOut', schema: schema<{ items: number }>() });
type CartEvent = EventOf<typeof ItemAdded> | EventOf<typeof CartCheckedOut>;
type CartCommand = { type: 'AddItem'; sku: string } | { type: 'CheckOut' };
interface Cart {
  readonly items: readonly string[];
  readonly checkedOut: boolean;
}

const cart = defineDecider<Cart, CartCommand, CartEvent>({
  initialState: () => ({ items: [], checkedOut: false }),
  decide: (command, state) => {
    if (state.checkedOut) throw new TidingsError('TIDINGS_NON_RETRYABLE', 'the cart is checked out');
    if (command.type === 'AddItem')
      return state.items.includes(command.sku) ? [] : ItemAdded.create({ sku: command.sku });
    if (state.items.length === 0) throw new Error('an empty cart cannot be checked out');
    return [CartCheckedOut.create({ items: state.items.length })];
  },
  evolve: (state, event) =>
    event.type === 'ItemAdded'
      ? { ...state, items: [...state.items, (event.data as { sku: string }).sku] }
      : { ...state, checkedOut: true },
});

describe('given/when/then', () => {
  const { given } = deciderSpec(cart);

  it('passes when decide produces the expected events', async () => {
    await given([])
      .when({ type: 'AddItem', sku: 'a' })
      .then([ItemAdded.create({ sku: 'a' })]);
    await given([ItemAdded.create({ sku: 'a' })])
      .when({ type: 'CheckOut' })
      .then([{ type: 'CartCheckedOut', data: { items: 1 } }]);
    await given([ItemAdded.create({ sku: 'a' })])
      .when({ type: 'CheckOut' })
      .then([{ type: 'CartCheckedOut' }]);
    await given([ItemAdded.create({ sku: 'a' })])
      .when({ type: 'AddItem', sku: 'a' })
      .then([]);
  });

  it('passes when decide throws the expected error, however it is described', async () => {
    const done = [ItemAdded.create({ sku: 'a' }), CartCheckedOut.create({ items: 1 })];
    await given(done).when({ type: 'AddItem', sku: 'b' }).then(TidingsError);
    await given(done).when({ type: 'AddItem', sku: 'b' }).then('TIDINGS_NON_RETRYABLE');
    await given(done)
      .when({ type: 'AddItem', sku: 'b' })
      .then(/checked out/);
    await given(done)
      .when({ type: 'AddItem', sku: 'b' })
      .then((error) => isTidingsError(error));
    await given().when({ type: 'CheckOut' }).then(new Error('an empty cart cannot be checked out'));
  });

  it('fails with an AssertionError saying what happened instead', async () => {
    await expect(
      given()
        .when({ type: 'AddItem', sku: 'a' })
        .then([ItemAdded.create({ sku: 'b' })]),
    ).rejects.toBeInstanceOf(AssertionError);
    await expect(
      given()
        .when({ type: 'AddItem', sku: 'a' })
        .then(/checked out/),
    ).rejects.toThrow(/returned 1 event\(s\) \(ItemAdded\).*expected it to throw/);
    await expect(
      given()
        .when({ type: 'CheckOut' })
        .then([{ type: 'CartCheckedOut' }]),
    ).rejects.toThrow(/decide threw Error: an empty cart/);
    await expect(given().when({ type: 'CheckOut' }).then(ConcurrencyError)).rejects.toThrow(
      /not the expected a ConcurrencyError/,
    );
  });

  it('refuses to be awaited without then(expected), so a test cannot pass by accident', async () => {
    await expect(given().when({ type: 'CheckOut' }) as unknown as Promise<void>).rejects.toThrow(
      /do not await it/,
    );
  });
});

describe('handleCommand', () => {
  const racing = (store: EventStore, writesBeforeEachAppend: number): EventStore => {
    let left = writesBeforeEachAppend;
    return {
      ...store,
      async append(stream, events, options) {
        // Another writer slips in between this handler's read and its append.
        if (left > 0) {
          left -= 1;
          await store.append(stream, [ItemAdded.create({ sku: `other-${left}` })]);
        }
        return store.append(stream, events, options);
      },
    };
  };

  it('reads, decides and appends expecting the version it read', async () => {
    const store = memoryEventStore();
    const first = await handleCommand(store, 'cart-1', cart, { type: 'AddItem', sku: 'a' });
    expect(first).toMatchObject({ streamVersion: 1, state: { items: ['a'], checkedOut: false } });
    const again = await handleCommand(store, 'cart-1', cart, { type: 'AddItem', sku: 'a' });
    expect(again).toMatchObject({ events: [], streamVersion: 1, position: undefined });
    const done = await handleCommand(store, 'cart-1', cart, { type: 'CheckOut' });
    expect(done.state.checkedOut).toBe(true);
    expect(done.position).toBe((await store.readAll()).position);
  });

  it('retries on conflict and decides on the state the other writer left', async () => {
    const store = memoryEventStore();
    await handleCommand(store, 'cart-1', cart, { type: 'AddItem', sku: 'a' });
    const result = await handleCommand(
      racing(store, 2),
      'cart-1',
      cart,
      { type: 'CheckOut' },
      { retries: 2 },
    );
    expect(result.events.map((e) => e.data)).toEqual([{ items: 3 }]);
    expect(result.streamVersion).toBe(4);
    expect(result.state).toEqual({ items: ['a', 'other-1', 'other-0'], checkedOut: true });
  });

  it('gives up with the ConcurrencyError once its retries are spent', async () => {
    const store = memoryEventStore();
    const error = await handleCommand(
      racing(store, 5),
      'cart-1',
      cart,
      { type: 'AddItem', sku: 'x' },
      { retries: 2 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream('cart-1')).streamVersion).toBe(3);
  });

  it('refuses bad options and deciders', async () => {
    expect(() => defineDecider({ initialState: () => 0, decide: 1, evolve: null } as never)).toThrow(
      /decide.*evolve/,
    );
    await expect(
      handleCommand(memoryEventStore(), 'c', cart, { type: 'CheckOut' }, { retries: -1 }),
    ).rejects.toThrow(/retries/);
  });
});
