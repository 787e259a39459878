import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { RedisFallbacks } from './redis-fallbacks.js';

/**
 * The event bus: every domain event goes through here, so a subscriber on any API
 * instance sees an event raised by any instance or worker.
 *
 * Events are typed: each is a `defineEvent(type, schema)` in its module's `*.events.ts`, the
 * module's public contract. Publishing validates the payload (an invalid one is logged and not
 * sent), serializes it as JSON, and never throws: it is called after the change committed, and a
 * Redis hiccup must not turn a committed change into an error. Every receiver gets the payload
 * parsed by the same schema (dates as `Date` again).
 *
 * Each process holds one Redis subscription to one channel per deployment
 * (`<REDIS_PREFIX>:events`), taken at start-up and awaited, and fans messages out
 * in memory. A subscriber is therefore listening as soon as its process is
 * started, with no per-topic SUBSCRIBE round trip that could miss the first event.
 *
 * Each subscriber gets only the types it asked for, in a buffer of its own: a subscriber that
 * falls behind (a slow WebSocket client, a burst of thousands of status changes arriving in one
 * read from Redis) loses its oldest events, logged, instead of holding memory without bound or
 * failing the process.
 *
 * The bus is live fan-out only: an event published while Redis is away is lost. Events that other
 * modules must act on are written to the outbox (infra/outbox.ts) in the change's transaction; its
 * relay publishes them here (with `send`) once their consumers' jobs are enqueued.
 */
export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  readonly type: T;
  readonly schema: S;
}

export type EventPayload<D extends EventDefinition> = z.output<D['schema']>;
export type EventInput<D extends EventDefinition> = z.input<D['schema']>;

const definitions = new Map<string, EventDefinition>();

/** Declares an event type and its payload schema; a type is defined once, in its module's `*.events.ts`. */
export function defineEvent<const T extends string, S extends z.ZodType>(type: T, schema: S): EventDefinition<T, S> {
  if (definitions.has(type)) throw new Error(`event ${type} is defined twice`);
  const def = { type, schema };
  definitions.set(type, def);
  return def;
}

/** Every defined event, in definition order (the module list imports them all). */
export function eventDefinitions(): EventDefinition[] {
  return [...definitions.values()];
}

export function eventDefinition(type: string): EventDefinition | undefined {
  return definitions.get(type);
}

/** An event as receivers get it: the payload parsed by its definition. */
export interface OpsEvent<T = unknown> {
  type: string;
  payload: T;
  timestamp: string;
}

export interface EventBus {
  /** Validates and sends, after the change committed; logs instead of throwing. */
  publish<D extends EventDefinition>(def: D, payloads: EventInput<D> | readonly EventInput<D>[]): Promise<void>;
  /**
   * Validates and sends one event, rejecting when it is invalid or Redis does not take it: for the
   * outbox relay (infra/outbox.ts), which keeps the event and tries again.
   */
  send<D extends EventDefinition>(def: D, payload: EventInput<D>): Promise<void>;
  /** Events of the given definitions (all when absent or empty), from every instance. */
  subscribe(defs?: readonly EventDefinition[]): AsyncIterable<OpsEvent>;
  /**
   * Calls `handler` for each event of `defs`, one at a time, in the background, until `stop`; a
   * handler that throws is logged and the next event still comes.
   */
  listen<D extends EventDefinition>(defs: readonly D[], handler: (event: OpsEvent<EventPayload<D>>) => unknown): { stop(): Promise<void> };
}

export interface EventBusHandle extends EventBus {
  start(): Promise<void>;
  close(): Promise<void>;
}

/** An event on the wire. JSON carries dates as ISO strings; receivers parse them back with the same schema. */
const encode = (def: EventDefinition, payload: unknown, timestamp: string) => JSON.stringify({ type: def.type, payload, timestamp });

/** Events a subscriber may lag behind by before its oldest are dropped. */
const SUBSCRIBER_BUFFER = 10_000;

export function createEventBus(deps: {
  /** The command connection: a publish gives up after REDIS_COMMAND_TIMEOUT_MS, so a frozen Redis delays a request that long at most. */
  publisher: Redis;
  subscriber: Redis;
  prefix: string;
  clock: Clock;
  logger: Logger;
  /** Skips publishing while Redis does not answer; counts the events not delivered, logs them at most every 10 s. */
  fallbacks: RedisFallbacks;
}): EventBusHandle {
  const channel = `${deps.prefix}:events`;
  const listeners = new Set<(event: OpsEvent) => void>();
  // Ends every open subscription when the bus closes, so no consumer waits forever.
  const finishers = new Set<() => unknown>();
  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    let event: OpsEvent;
    try {
      const raw = JSON.parse(message) as OpsEvent;
      const def = definitions.get(raw.type);
      // Another version of Opsgraph on the same channel may know types this one does not.
      if (!def) return;
      event = { ...raw, payload: def.schema.parse(raw.payload) };
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
    async send(def, payload) {
      const checked = def.schema.safeParse(payload);
      if (!checked.success) {
        const issue = checked.error.issues[0]!;
        throw new Error(`refused to send an invalid ${def.type} event: ${issue.path.join('.') || '(payload)'}: ${issue.message}`);
      }
      await deps.publisher.publish(channel, encode(def, checked.data, deps.clock.now().toISOString()));
    },
    async publish(def, payloads) {
      const list = (Array.isArray(payloads) ? payloads : [payloads]) as unknown[];
      const timestamp = deps.clock.now().toISOString();
      const messages: string[] = [];
      for (const payload of list) {
        const checked = def.schema.safeParse(payload);
        if (!checked.success) {
          deps.logger.error({ type: def.type, issues: checked.error.issues.slice(0, 5) }, 'refused to publish an invalid event');
          continue;
        }
        try {
          messages.push(encode(def, checked.data, timestamp));
        } catch (err) {
          deps.logger.error({ type: def.type, err: (err as Error).message }, 'refused to publish an unserializable event');
        }
      }
      if (!messages.length) return;
      // One attempt for the batch, like every use of Redis a request can do without: while Redis
      // does not answer (down, or frozen: no reply within REDIS_COMMAND_TIMEOUT_MS) events are not
      // delivered, counted per event, and for a moment not even tried (see infra/redis-fallbacks.ts).
      await deps.fallbacks.attempt(
        'eventPublish',
        async () => void (await Promise.all(messages.map((m) => deps.publisher.publish(channel, m)))),
        () => undefined,
        { n: messages.length, context: { type: def.type } },
      );
    },
    listen(defs, handler) {
      const it = bus.subscribe(defs)[Symbol.asyncIterator]();
      void (async () => {
        for (let next = await it.next(); !next.done; next = await it.next()) {
          try {
            await handler(next.value as never);
          } catch (err) {
            deps.logger.warn({ err: (err as Error).message, type: next.value.type }, 'an event listener failed');
          }
        }
      })();
      return { stop: async () => void (await it.return?.()) };
    },
    subscribe(defs) {
      const types = defs?.length ? defs.map((d) => d.type) : undefined;
      const wanted = types ? new Set(types) : null;
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
