import type { Prisma } from '../../generated/prisma/client.js';
import type { Redis } from 'ioredis';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../infra/prisma.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';

export const SECURITY_EVENT_TYPES = [
  'login_failed',
  'login_locked',
  'refresh_token_reuse',
  'api_key_rejected',
  'rate_limited',
  'ws_rejected',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

export interface SecurityEventRecord {
  id: string;
  type: string;
  ip: string | null;
  actor: string | null;
  details: unknown;
  at: Date;
}

export interface SecurityEventFilter {
  type?: string | null;
  ip?: string | null;
  actor?: string | null;
  since?: Date | null;
}

/** The security log: written by auth and rate limits, read by admins. */
export function createSecurityService(deps: { db: Database; redis: Redis; prefix: string; clock: Clock; logger: Logger }) {
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

    /** Drops events older than the retention; the log is for investigating, not an archive. */
    async prune(retentionDays: number): Promise<number> {
      const cutoff = new Date(deps.clock.now().getTime() - retentionDays * 86_400_000);
      return (await deps.db.securityEvent.deleteMany({ where: { at: { lt: cutoff } } })).count;
    },

    async list(filter: SecurityEventFilter | null | undefined, page: PageRequest | null | undefined): Promise<Page<SecurityEventRecord>> {
      const p = resolvePage(page, ['at', 'type'] as const, 'at');
      const where: Prisma.SecurityEventWhereInput = {
        ...(filter?.type ? { type: filter.type } : {}),
        ...(filter?.ip ? { ip: filter.ip } : {}),
        ...(filter?.actor ? { actor: filter.actor } : {}),
        ...(filter?.since ? { at: { gte: filter.since } } : {}),
      };
      const [items, total] = await deps.db.$transaction([
        deps.db.securityEvent.findMany({ where, orderBy: [{ [p.sort]: p.order }, { id: p.order }], skip: p.skip, take: p.take }),
        deps.db.securityEvent.count({ where }),
      ]);
      return { items, pageInfo: pageInfo(total, p.page, p.limit) };
    },
  };
}

export type SecurityService = ReturnType<typeof createSecurityService>;
