import type { Prisma } from '../generated/prisma/client.js';
import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Database } from './prisma.js';
import { createLocalOnce, type RedisFallbacks } from './redis-fallbacks.js';

export const SECURITY_EVENT_TYPES = [
  'login_failed',
  'login_locked',
  'refresh_token_reuse',
  'api_key_rejected',
  'rate_limited',
  'ws_rejected',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

/** The security log's writer, used by auth, the rate limits and the WebSocket server; admins read it through the security module. */
export function createSecurityLog(deps: { db: Database; redis: Redis; prefix: string; clock: Clock; logger: Logger; fallbacks: RedisFallbacks }) {
  const local = createLocalOnce(120_000);
  return {
    /**
     * Never lets a failure to record break the request that triggered it. With `sampleBy`, only
     * the first event of that type and key in a minute is kept: a flood of bad credentials must
     * not turn into a flood of writes (it happens before any rate limit can refuse it).
     *
     * The first of a minute is decided in Redis, across instances. This process remembers what it
     * already sampled, so a flood costs Redis one command per key and minute, not one per request;
     * and while Redis does not answer, that memory decides alone: events are still recorded, the
     * first per key and minute on each instance, instead of all lost or all written.
     */
    async record(type: SecurityEventType, event: { ip?: string; actor?: string; details?: Record<string, unknown>; sampleBy?: string }): Promise<void> {
      try {
        if (event.sampleBy) {
          const minute = Math.floor(deps.clock.now().getTime() / 60_000);
          const key = `${type}:${event.sampleBy}:${minute}`;
          if (!local.first(key)) return;
          const first = await deps.fallbacks.attempt(
            'securitySampling',
            async () => (await deps.redis.set(`${deps.prefix}:sec:${key}`, '1', 'EX', 120, 'NX')) === 'OK',
            () => true,
          );
          if (!first) return;
        }
        await deps.db.securityEvent.create({
          data: { type, ip: event.ip, actor: event.actor, details: event.details as Prisma.InputJsonValue, at: deps.clock.now() },
        });
      } catch (err) {
        deps.logger.error({ err, type }, 'could not record security event');
      }
    },
  };
}

export type SecurityLog = ReturnType<typeof createSecurityLog>;
