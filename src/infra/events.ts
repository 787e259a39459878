import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/**
 * The event bus: every domain event goes through here, so a subscriber on any API
 * instance sees an event raised by any instance or worker.
 *
 * Each process holds one Redis subscription to one channel per deployment
 * (`<REDIS_PREFIX>:events`), taken at start-up and awaited, and fans messages out
 * in memory. A subscriber is therefore listening as soon as its process is
 * started, with no per-topic SUBSCRIBE round trip that could miss the first event.
 * Payloads travel as JSON: dates arrive as ISO strings.
 *
 * Each subscriber gets only the types it asked for, in a buffer of its own: a subscriber that
 * falls behind (a slow WebSocket client, a burst of thousands of status changes arriving in one
 * read from Redis) loses its oldest events, logged, instead of holding memory without bound or
 * failing the process.
 */
export interface OpsEvent<T = unknown> {
  type: string;
  payload: T;
  timestamp: string;
}

export interface EventBus {
  publish<T>(type: string, payload: T): Promise<void>;
  /** Events of the given types (all when `types` is empty or absent), from every instance. */
  subscribe(types?: readonly string[]): AsyncIterable<OpsEvent>;
  /**
   * Calls `handler` for each event of `types`, one at a time, in the background, until `stop`; a
   * handler that throws is logged and the next event still comes.
   */
  listen(types: readonly string[], handler: (event: OpsEvent) => unknown): { stop(): Promise<void> };
}

export interface EventBusHandle extends EventBus {
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Events a subscriber may lag behind by before its oldest are dropped. */
const SUBSCRIBER_BUFFER = 10_000;

export function createEventBus(deps: {
  publisher: Redis;
  subscriber: Redis;
  prefix: string;
  clock: Clock;
  logger: Logger;
}): EventBusHandle {
  const channel = `${deps.prefix}:events`;
  const listeners = new Set<(event: OpsEvent) => void>();
  // Ends every open subscription when the bus closes, so no consumer waits forever.
  const finishers = new Set<() => unknown>();
  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    let event: OpsEvent;
    try {
      event = JSON.parse(message) as OpsEvent;
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'dropped an unreadable event');
      return;
    }
    for (const listener of listeners) listener(event);
  };

  const bus: EventBusHandle = {
    async start() {
      deps.subscriber.on('message', onMessage);
      await deps.subscriber.subscribe(channel);
    },
    async close() {
      deps.subscriber.off('message', onMessage);
      for (const finish of [...finishers]) finish();
      if (deps.subscriber.status === 'ready') await deps.subscriber.unsubscribe(channel).catch(() => undefined);
    },
    async publish(type, payload) {
      const event: OpsEvent = { type, payload, timestamp: deps.clock.now().toISOString() };
      await deps.publisher.publish(channel, JSON.stringify(event));
    },
    listen(types, handler) {
      const it = bus.subscribe(types)[Symbol.asyncIterator]();
      void (async () => {
        for (let next = await it.next(); !next.done; next = await it.next()) {
          try {
            await handler(next.value);
          } catch (err) {
            deps.logger.warn({ err: (err as Error).message, type: next.value.type }, 'an event listener failed');
          }
        }
      })();
      return { stop: async () => void (await it.return?.()) };
    },
    subscribe(types) {
      const wanted = types?.length ? new Set(types) : null;
      return {
        [Symbol.asyncIterator](): AsyncIterator<OpsEvent> {
          const queue: OpsEvent[] = [];
          // Callers may ask for several events before the first arrives; each gets its own, in order.
          const waiting: ((result: IteratorResult<OpsEvent>) => void)[] = [];
          let closed = false;
          let dropped = 0;
          const listener = (event: OpsEvent) => {
            if (wanted && !wanted.has(event.type)) return;
            const resolve = waiting.shift();
            if (resolve) return resolve({ value: event, done: false });
            if (queue.length >= SUBSCRIBER_BUFFER) {
              queue.shift();
              if (dropped++ % 1_000 === 0) deps.logger.warn({ dropped, types: types ?? 'all' }, 'a slow event subscriber lost its oldest events');
            }
            queue.push(event);
          };
          const finish = (): IteratorResult<OpsEvent> => {
            closed = true;
            listeners.delete(listener);
            finishers.delete(finish);
            queue.length = 0;
            for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true });
            return { value: undefined, done: true };
          };
          listeners.add(listener);
          finishers.add(finish);
          return {
            next: () => {
              if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
              if (closed) return Promise.resolve({ value: undefined, done: true });
              return new Promise((resolve) => waiting.push(resolve));
            },
            return: () => Promise.resolve(finish()),
            throw: (err: unknown) => {
              finish();
              return Promise.reject(err);
            },
          };
        },
      };
    },
  };
  return bus;
}
