import type { Prisma } from '../../generated/prisma/client.js';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/prisma.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';

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

/** The security log's read side and retention; its writer is infra/security-log.ts. */
export function createSecurityService(deps: { db: Database; clock: Clock }) {
  return {
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
