import type pg from 'pg';
import type { Prisma } from '../../generated/prisma/client.js';
import type { Clock } from '../../infra/clock.js';
import { sqlOf } from '../../infra/sql.js';
import type { Database } from '../../infra/prisma.js';
import { linkIsSound, type ChainCursor, type ChainedContent } from '../../lib/audit-chain.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';
import type { AuditActorType } from '../../auth/actor.js';

/** An entry as stored: what its hash covers, and the hash. */
export interface AuditEntryRecord extends ChainedContent {
  actorType: AuditActorType;
  hash: string;
}

export interface AuditFilter {
  actorId?: string | null;
  action?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  since?: Date | null;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  firstBrokenId: string | null;
}

/** Rows per round trip when walking the whole log (export, verification): memory stays flat. */
const BATCH = 1_000;
/** Rows per DELETE when pruning, so no single statement holds locks for long. */
const PRUNE_BATCH = 10_000;

// seq leaves as text (a bigint); ORDER BY must then say e.seq, or it would sort the text alias ('9' > '10').
const COLUMNS = `id, e.seq::text AS seq, at, "actorType", "actorId", action, "resourceType", "resourceId", before, after, ip, "requestId", "prevHash", hash`;

/** The filter as SQL conditions over parameters starting at `$<offset + 1>`. */
function filterSql(filter: AuditFilter | null | undefined, offset = 0): { where: string[]; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    values.push(value);
    where.push(sql.replace('?', `$${offset + values.length}`));
  };
  if (filter?.actorId) add(`"actorId" = ?`, filter.actorId);
  if (filter?.action) add(`action = ?`, filter.action);
  if (filter?.resourceType) add(`"resourceType" = ?`, filter.resourceType);
  if (filter?.resourceId) add(`"resourceId" = ?`, filter.resourceId);
  if (filter?.since) add(`at >= ?`, filter.since);
  return { where, values };
}

/** Reading, exporting, verifying and pruning the audit log. Writing is the recorder's (infra/audit-recorder.ts). */
export function createAuditService(deps: { db: Database; pool: pg.Pool; clock: Clock }) {
  const sql = sqlOf(deps.pool);
  return {
    async list(filter: AuditFilter | null | undefined, page: PageRequest | null | undefined): Promise<Page<AuditEntryRecord>> {
      const p = resolvePage(page, ['seq', 'at'] as const, 'seq');
      const where: Prisma.AuditEntryWhereInput = {
        ...(filter?.actorId ? { actorId: filter.actorId } : {}),
        ...(filter?.action ? { action: filter.action } : {}),
        ...(filter?.resourceType ? { resourceType: filter.resourceType } : {}),
        ...(filter?.resourceId ? { resourceId: filter.resourceId } : {}),
        ...(filter?.since ? { at: { gte: filter.since } } : {}),
      };
      const [rows, total] = await deps.db.$transaction([
        deps.db.auditEntry.findMany({ where, orderBy: [{ [p.sort]: p.order }, { seq: p.order }], skip: p.skip, take: p.take }),
        deps.db.auditEntry.count({ where }),
      ]);
      return { items: rows.map((r) => ({ ...r, seq: r.seq.toString() })), pageInfo: pageInfo(total, p.page, p.limit) };
    },

    /** Every matching entry, oldest first, a batch at a time (keyset on seq): for downloads of any size. */
    async *stream(filter: AuditFilter | null | undefined): AsyncGenerator<AuditEntryRecord[]> {
      const { where, values } = filterSql(filter, 1);
      let after = '0';
      for (;;) {
        const rows = await sql.query<AuditEntryRecord>(
          `SELECT ${COLUMNS} FROM "AuditEntry" e WHERE ${['e.seq > $1::bigint', ...where].join(' AND ')} ORDER BY e.seq LIMIT ${BATCH}`,
          [after, ...values],
        );
        if (!rows.length) return;
        yield rows;
        if (rows.length < BATCH) return;
        after = rows[rows.length - 1]!.seq;
      }
    },

    /**
     * Walks the chain in seq order, a batch at a time, recomputing each hash and link, and stops
     * at the first entry that does not hold. One REPEATABLE READ snapshot: appends and pruning
     * running meanwhile neither show up half-way nor pull rows from under the walk. The oldest
     * remaining entry's prevHash is taken as given (its predecessor may have been pruned).
     */
    async verify(): Promise<ChainVerification> {
      const client = await deps.pool.connect();
      const snapshot = sqlOf(client);
      try {
        await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        let previous: ChainCursor | null = null;
        let checked = 0;
        for (;;) {
          const from: string = previous?.seq ?? '0';
          const rows = await snapshot.query<AuditEntryRecord>(`SELECT ${COLUMNS} FROM "AuditEntry" e WHERE e.seq > $1::bigint ORDER BY e.seq LIMIT ${BATCH}`, [from]);
          for (const row of rows) {
            checked += 1;
            if (!linkIsSound(previous, row)) return { ok: false, checked, firstBrokenId: row.id };
            previous = { seq: row.seq, hash: row.hash };
          }
          if (rows.length < BATCH) return { ok: true, checked, firstBrokenId: null };
        }
      } finally {
        // A connection that cannot end its snapshot (frozen, timed out) is dropped, not pooled again.
        const broken = await snapshot.query('COMMIT').then(
          () => false,
          () => true,
        );
        client.release(broken);
      }
    },

    /**
     * Drops entries older than the retention, always a prefix of the chain (everything before the
     * oldest entry still inside the retention) so that what remains verifies, and never the newest
     * entry, which the next append links to. Not audited itself: the chain's first seq shows it.
     */
    async prune(retentionDays: number): Promise<number> {
      if (retentionDays <= 0) return 0;
      const cutoff = new Date(deps.clock.now().getTime() - retentionDays * 86_400_000);
      let total = 0;
      for (;;) {
        const deleted = await sql.execute(
          `WITH bound AS (
             SELECT LEAST(
               COALESCE((SELECT min(seq) FROM "AuditEntry" WHERE at >= $1), (SELECT max(seq) FROM "AuditEntry")),
               (SELECT min(seq) FROM "AuditEntry") + $2) AS seq)
           DELETE FROM "AuditEntry" WHERE seq < (SELECT seq FROM bound)`,
          [cutoff, PRUNE_BATCH],
        );
        total += deleted;
        if (deleted < PRUNE_BATCH) return total;
      }
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
