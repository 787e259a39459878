import type { Prisma } from '../generated/prisma/client.js';
import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Database } from './prisma.js';

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
export function createSecurityLog(deps: { db: Database; redis: Redis; prefix: string; clock: Clock; logger: Logger }) {
  return {
    /**
     * Never lets a failure to record break the request that triggered it. With `sampleBy`, only
     * the first event of that type and key in a minute is kept: a flood of bad credentials must
     * not turn into a flood of writes (it happens before any rate limit can refuse it).
     */
    async record(type: SecurityEventType, event: { ip?: string; actor?: string; details?: Record<string, unknown>; sampleBy?: string }): Promise<void> {
      try {
        if (event.sampleBy) {
          const minute = Math.floor(deps.clock.now().getTime() / 60_000);
          const first = await deps.redis.set(`${deps.prefix}:sec:${type}:${event.sampleBy}:${minute}`, '1', 'EX', 120, 'NX');
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
