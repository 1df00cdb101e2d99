import { connect } from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, Options, RecoveringChannelModel } from 'amqplib';
import { TidingsError } from '@tidings/core';
import type { ResolvedTransportOptions } from './options.ts';

/** One message to publish with a confirm. @internal */
export interface Outgoing {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
}

/**
 * The transport's one connection, kept up by amqplib's recovery (reconnects with backoff), with the
 * state publishers need to fail fast: whether it is up, whether the broker blocked publishers (a disk
 * or memory alarm), and the last error seen.
 *
 * @internal
 */
export interface Connection {
  /** The live connection, or `undefined` while it is down. */
  current(): ChannelModel | undefined;
  /**
   * The live connection; before the first connection, waits up to `connectTimeoutMs` for it. Throws
   * `TIDINGS_UNAVAILABLE` at once while the connection is down after that.
   */
  live(what: string): Promise<ChannelModel>;
  /** Resolves with the next live connection (at once when up); rejects when `signal` aborts. */
  ready(signal: AbortSignal): Promise<ChannelModel>;
  /** Calls `listener` after every (re)connection; returns the unsubscribe. */
  onConnect(listener: (model: ChannelModel) => void): () => void;
  /** Publishes with confirms, resolving once the broker confirmed every message. */
  publish(
    what: string,
    messages: readonly Outgoing[],
    declare?: (channel: Channel) => Promise<void>,
  ): Promise<void>;
  /** Runs `work` on a fresh channel of its own, closed afterwards (a channel error cannot hurt others). */
  withChannel<T>(what: string, work: (channel: Channel) => Promise<T>): Promise<T>;
  /** Why the broker blocked publishers, while it does. */
  blocked(): string | undefined;
  close(): Promise<void>;
}

/** The error of every publish or read that cannot reach the broker. @internal */
export function unavailable(what: string, detail: string, cause?: unknown): TidingsError {
  return new TidingsError(
    'TIDINGS_UNAVAILABLE',
    `Cannot ${what}: ${detail}. The transport reconnects by itself; retry later, and check that RabbitMQ is running and reachable.`,
    cause === undefined ? {} : { cause },
  );
}

/** True for errors that mean "the connection or channel went away", not "the request was wrong". */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'IllegalOperationError' ||
    /channel closed|connection closed|ECONNREFUSED|ECONNRESET|EPIPE|socket|Channel ended/i.test(error.message)
  );
}

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Opens the recovering connection. @internal */
export async function openConnection(options: ResolvedTransportOptions): Promise<Connection> {
  const recovering: RecoveringChannelModel = await connect(options.url, {
    recovery: {
      waitForConnect: false,
      initialDelay: options.reconnectDelayMs,
      maxDelay: options.reconnectMaxDelayMs,
      factor: 2,
      jitter: 0.2,
    },
  });
  let model: ChannelModel | undefined;
  let everConnected = false;
  let lastError: unknown;
  let blockedReason: string | undefined;
  let closed = false;
  let publisher: { model: ChannelModel; channel: Promise<ConfirmChannel> } | undefined;
  const listeners = new Set<(model: ChannelModel) => void>();
  let waiters: ((model: ChannelModel) => void)[] = [];

  recovering.on('connect', (connected: ChannelModel) => {
    model = connected;
    everConnected = true;
    blockedReason = undefined;
    // A connection-level error also closes it; recovery takes over, so only report it.
    connected.on('error', (error: Error) => {
      lastError = error;
    });
    for (const wake of waiters.splice(0)) wake(connected);
    for (const listener of [...listeners]) {
      try {
        listener(connected);
      } catch (error) {
        options.onError(error, { where: 'connection' });
      }
    }
  });
  recovering.on('disconnect', (error: Error) => {
    model = undefined;
    publisher = undefined;
    lastError = error;
    if (!closed) options.onError(error, { where: 'connection' });
  });
  recovering.on('connect-failed', (error: Error) => {
    lastError = error;
  });
  recovering.on('error', (error: Error) => {
    lastError = error;
  });
  recovering.on('blocked', (reason: string) => {
    blockedReason = reason || 'resource alarm';
  });
  recovering.on('unblocked', () => {
    blockedReason = undefined;
  });

  const downDetail = (): string =>
    `the connection to RabbitMQ is down${lastError === undefined ? '' : ` (${describeError(lastError)})`}`;

  const ready = (signal: AbortSignal): Promise<ChannelModel> => {
    if (model !== undefined) return Promise.resolve(model);
    return new Promise<ChannelModel>((resolve, reject) => {
      const onAbort = (): void => {
        waiters = waiters.filter((waiter) => waiter !== wake);
        reject(signal.reason as Error);
      };
      const wake = (connected: ChannelModel): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(connected);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      waiters.push(wake);
    });
  };

  const live = async (what: string): Promise<ChannelModel> => {
    if (closed) throw new TidingsError('TIDINGS_CLOSED', `Cannot ${what}: the rabbitmq transport is closed.`);
    if (model !== undefined) return model;
    if (!everConnected) {
      try {
        return await ready(AbortSignal.timeout(options.connectTimeoutMs));
      } catch {
        if (model !== undefined) return model;
        throw unavailable(
          what,
          `no connection to RabbitMQ within ${options.connectTimeoutMs} ms (${describeError(lastError ?? 'no answer')})`,
          lastError,
        );
      }
    }
    throw unavailable(what, downDetail(), lastError);
  };

  const confirmChannel = async (what: string): Promise<ConfirmChannel> => {
    const current = await live(what);
    if (publisher?.model !== current) {
      const channel = current.createConfirmChannel();
      const entry = { model: current, channel };
      publisher = entry;
      channel.then(
        (opened) => {
          // Every publish waiting for its confirms listens for the channel closing.
          opened.setMaxListeners(0);
          opened.on('error', (error: Error) => {
            lastError = error;
          });
          opened.on('close', () => {
            if (publisher === entry) publisher = undefined;
          });
        },
        () => {
          if (publisher === entry) publisher = undefined;
        },
      );
    }
    try {
      return await publisher.channel;
    } catch (error) {
      throw unavailable(what, `could not open a channel (${describeError(error)})`, error);
    }
  };

  const confirmAll = (channel: ConfirmChannel, messages: readonly Outgoing[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let waiting = messages.length;
      let done = false;
      const finish = (error?: Error): void => {
        if (done) return;
        if (error === undefined && --waiting > 0) return;
        done = true;
        clearTimeout(timer);
        channel.removeListener('close', onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onClose = (): void => finish(new Error('channel closed before the broker confirmed'));
      const timer = setTimeout(
        () => finish(new Error(`no confirm within ${options.confirmTimeoutMs} ms`)),
        options.confirmTimeoutMs,
      );
      channel.once('close', onClose);
      for (const message of messages) {
        channel.publish(message.exchange, message.routingKey, message.content, message.options, (error) => {
          if (error === null || error === undefined) finish();
          else finish(error instanceof Error ? error : new Error(String(error)));
        });
      }
    });

  return {
    current: () => model,
    live,
    ready,
    onConnect(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async publish(what, messages, declare) {
      if (messages.length === 0) return;
      if (blockedReason !== undefined)
        throw unavailable(what, `RabbitMQ blocks publishers: ${blockedReason} (a disk or memory alarm)`);
      const channel = await confirmChannel(what);
      if (declare !== undefined) await declare(channel);
      try {
        await confirmAll(channel, messages);
      } catch (error) {
        if (error instanceof TypeError || error instanceof RangeError) throw error;
        throw unavailable(what, `RabbitMQ did not confirm the publish (${describeError(error)})`, error);
      }
    },
    async withChannel(what, work) {
      const current = await live(what);
      let channel: Channel;
      try {
        channel = await current.createChannel();
      } catch (error) {
        throw unavailable(what, `could not open a channel (${describeError(error)})`, error);
      }
      // Channel errors also reject the operation that caused them; this only keeps them from crashing.
      channel.on('error', () => undefined);
      try {
        return await work(channel);
      } finally {
        await channel.close().catch(() => undefined);
      }
    },
    blocked: () => blockedReason,
    async close() {
      closed = true;
      await recovering.close();
    },
  };
}
