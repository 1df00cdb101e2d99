import type { Delivery, DeliveryHandler } from './transport.ts';

/** The handlers a consumer has started and not yet seen finish. */
export interface HandlerRuns {
  /**
   * Runs the handler on a delivery in the background. The bus settles its deliveries itself; a throw
   * that still escapes is reported and the delivery nacked, so the consumer's loop never dies of it.
   */
  start(delivery: Delivery, messageId: string): void;
  /** How many handlers are running now. */
  running(): number;
  /** Resolves once no handler runs (at once when none does): what `close` waits for. */
  idle(): Promise<void>;
}

/**
 * Starts handlers for a transport's consumer and tells its `close` when the last one has finished.
 *
 * @example
 * const runs = handlerRuns(handler, (error, where, messageId) => onError(error, { where, messageId }));
 * runs.start(delivery, message.id);
 * await Promise.race([runs.idle(), deadline]);
 */
export function handlerRuns(
  handler: DeliveryHandler,
  report: (error: unknown, where: 'handler' | 'settle', messageId: string) => void,
): HandlerRuns {
  let running = 0;
  const waiting = new Set<() => void>();
  const run = async (delivery: Delivery, messageId: string): Promise<void> => {
    try {
      await handler(delivery);
    } catch (error) {
      report(error, 'handler', messageId);
      await delivery.nack().catch((nackError: unknown) => report(nackError, 'settle', messageId));
    }
  };
  return {
    start(delivery, messageId) {
      running += 1;
      void run(delivery, messageId).finally(() => {
        running -= 1;
        if (running > 0) return;
        for (const resolve of waiting) resolve();
        waiting.clear();
      });
    },
    running: () => running,
    idle: () => (running === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiting.add(resolve))),
  };
}
