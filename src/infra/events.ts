import { createPubSub, filter, pipe } from '@graphql-yoga/subscription';
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
}

export interface EventBusHandle extends EventBus {
  start(): Promise<void>;
  close(): Promise<void>;
}

const LOCAL_TOPIC = 'events';

export function createEventBus(deps: {
  publisher: Redis;
  subscriber: Redis;
  prefix: string;
  clock: Clock;
  logger: Logger;
}): EventBusHandle {
  const channel = `${deps.prefix}:events`;
  const local = createPubSub<{ [LOCAL_TOPIC]: [OpsEvent] }>();
  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    try {
      local.publish(LOCAL_TOPIC, JSON.parse(message) as OpsEvent);
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'dropped an unreadable event');
    }
  };

  return {
    async start() {
      deps.subscriber.on('message', onMessage);
      await deps.subscriber.subscribe(channel);
    },
    async close() {
      deps.subscriber.off('message', onMessage);
      if (deps.subscriber.status === 'ready') await deps.subscriber.unsubscribe(channel).catch(() => undefined);
    },
    async publish(type, payload) {
      const event: OpsEvent = { type, payload, timestamp: deps.clock.now().toISOString() };
      await deps.publisher.publish(channel, JSON.stringify(event));
    },
    subscribe(types) {
      const source = local.subscribe(LOCAL_TOPIC);
      if (!types?.length) return source;
      const wanted = new Set(types);
      return pipe(source, filter((event: OpsEvent) => wanted.has(event.type)));
    },
  };
}
