import type { Bus } from '../bus.ts';
import type { AnyEventDefinition, EventsOf } from '../catalog.ts';
import type { Event } from '../envelope.ts';
import { invalidOptions } from '../errors.ts';
import { type StoreSubscription, type SubscribeToAllOptions, subscribeToAll } from './subscription.ts';
import type { EventStore, RecordedEvent } from './types.ts';

/** Options of {@link relayToBus}: those of {@link subscribeToAll}, without the handler. */
export type RelayToBusOptions = Omit<SubscribeToAllOptions, 'handler' | 'handleBatch'>;

/** The envelope of a stored event, without where the store keeps it. */
function envelopeOf(recorded: RecordedEvent): Event {
  const {
    stream: _stream,
    streamVersion: _version,
    position: _position,
    recordedAt: _at,
    ...event
  } = recorded;
  return event;
}

/**
 * Publishes the store's events to the bus in commit order, a batch per publish, so an event-sourced
 * service needs no outbox: the append is the only write, and the relay carries it to the bus afterwards.
 * It is a {@link subscribeToAll} subscription, so it resumes from its checkpoint and is at least once: a
 * crash (or a failed publish) between publishing and saving the checkpoint publishes those events again.
 * The bus does not deduplicate; consumers use idempotent handlers or an inbox, keyed on the event id.
 * A publish that fails (an event the bus's catalog does not know, a broker outage) is retried with
 * backoff and never skipped; use `types` to relay only some events.
 *
 * @example
 * const relay = relayToBus(store, bus, { name: 'orders-relay', checkpoints });
 * await store.append('order-42', [OrderPlaced.create({ orderId: '42', total: 10 })]);
 * // ... every OrderPlaced reaches the bus's subscribers, in the order the store committed them
 * await relay.close();
 */
export function relayToBus<E extends readonly AnyEventDefinition[]>(
  store: EventStore,
  bus: Pick<Bus<E>, 'publish'>,
  options: RelayToBusOptions,
): StoreSubscription {
  if (typeof bus?.publish !== 'function') {
    throw invalidOptions('relayToBus', ['bus must be made with createBus() (it needs publish)']);
  }
  // A handler given by plain JavaScript would clash with the relay's own.
  const { handler: _handler, handleBatch: _batch, ...rest } = options as SubscribeToAllOptions;
  return subscribeToAll(store, {
    ...rest,
    handleBatch: (events) => bus.publish(events.map(envelopeOf) as unknown as readonly EventsOf<E>[]),
  });
}
