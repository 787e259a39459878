import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * The Redis connections, shaped after BullMQ's production guide:
 * - `command`: producers and plain commands fail fast while Redis is away (no offline queue),
 *   so an API request answers 503 instead of hanging; and with `commandTimeoutMs`, fail fast
 *   too while Redis is there but does not answer (a paused process, a black-holed network: the
 *   socket stays open, so nothing else would ever give up on a command);
 * - `blocking`: workers and pub/sub subscribers wait out an outage (`maxRetriesPerRequest: null`)
 *   and have no command timeout, which would cut their blocking commands.
 * All reconnect on their own with a capped backoff.
 */
export type RedisRole = 'command' | 'blocking';

export function createRedis(url: string, role: RedisRole, logger: Logger, name: string, options: { commandTimeoutMs?: number } = {}): Redis {
  const redisOptions: RedisOptions = {
    connectionName: name,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...(role === 'command'
      ? // Auto-pipelining sends the commands of one event-loop turn in one write: under load, one
        // syscall for many rate-limit checks instead of one each.
        { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true, commandTimeout: options.commandTimeoutMs }
      : { enableOfflineQueue: true, maxRetriesPerRequest: null }),
  };
  const redis = new Redis(url, redisOptions);
  let down = false;
  redis.on('error', (err: Error) => {
    // ioredis emits on every failed reconnect; one line per outage is enough.
    if (!down) logger.warn({ connection: name, err: err.message }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ connection: name }, 'redis connection restored');
    down = false;
  });
  return redis;
}

/** Closes a connection politely, or drops it if Redis is not answering. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    // Not connected: QUIT would wait for a connection that may never come.
    redis.disconnect();
    return;
  }
  await Promise.race([redis.quit().catch(() => undefined), sleep(1_000)]);
  redis.disconnect();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
