import type { TransportMessage } from '@tidings/core';

/** A running raw consumer. */
export interface RawConsumer {
  /** Stops fetching; deliveries not yet acked stay with the broker. */
  stop(): Promise<void>;
}

/**
 * The peer of a broker's Tidings transport: its official client doing the same durable work by hand,
 * the way a careful user would write it. Every queue, stream or table it makes lives in its namespace
 * and is removed by `close`.
 */
export interface RawClient {
  /** What the raw side does, for the table and the JSON. */
  readonly peer: string;
  /** Publishes `messages` to `stream` and resolves once the broker has them durably (one batch). */
  publish(stream: string, messages: readonly TransportMessage[]): Promise<void>;
  /**
   * Consumes `stream` from its beginning, at most `concurrency` unsettled at once: reads each message
   * (headers and JSON body), acks it, then calls `onMessage` with its id.
   */
  consume(stream: string, concurrency: number, onMessage: (id: string) => void): Promise<RawConsumer>;
  /** Removes everything it created and disconnects. */
  close(): Promise<void>;
}
