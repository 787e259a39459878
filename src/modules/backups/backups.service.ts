import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { AuditActor } from '../../auth/actor.js';
import type { AuditRecorder } from '../../infra/audit-recorder.js';
import type { Clock } from '../../infra/clock.js';
import type { Outbox } from '../../infra/outbox.js';
import type { Logger } from '../../infra/logger.js';
import { inTransaction, type Sql } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { SLA_ALERT, type SlaAlertEvent } from '../sla/sla.events.js';
import { backupOverdueSql, SERVICE_COLUMNS, type ServiceRow } from '../sla/sla.records.js';

export interface BackupReportInput {
  target: { service: string } | { slaGroup: string } | { namespace: string } | { serviceId: string };
  nodeId?: string;
  status: 'success' | 'failed' | 'partial';
  sizeBytes?: number;
  /** How long the backup took: checked against the service's minDurationSeconds. */
  durationSeconds?: number;
  message?: string;
  completedAt: Date;
  reportId?: string;
}

export interface BackupReportAnswer {
  success: true;
  message: string;
  affected: number;
  services: string[];
}

/**
 * Backups as the fleet sees them: reports from backup jobs (one service, an SLA group or a
 * namespace), each service's freshness, and the backup alert when a service's backups become
 * overdue or current again. The backup columns live on the service row the SLA module owns.
 */
/** A delivery repeated within this long is a retry of the first. */
const DUPLICATE_WINDOW_MS = 60_000;

export function createBackupsService(deps: { pool: pg.Pool; clock: Clock; outbox: Pick<Outbox, 'add' | 'nudge'>; logger: Logger; audit: AuditRecorder }) {
  const { clock } = deps;

  function backupAlert(r: ServiceRow & { bound?: string | null }, at: Date): SlaAlertEvent {
    const fresh = r.lastSuccessfulBackupAt !== null && r.lastSuccessfulBackupAt.getTime() >= at.getTime() - r.backupMaxAgeDays * 86_400_000;
    // A report below a sanity bound is why a service that had just backed up counts as not having done so.
    const why = r.bound ? `; the latest report counted as failed: ${r.bound}` : '';
    return {
      scope: 'BACKUP',
      serviceId: r.id,
      slaGroupId: r.slaGroupId,
      status: r.backupOverdue ? 'OVERDUE' : 'RESOLVED',
      message: !r.backupOverdue
        ? `backups of ${r.name} on ${r.nodeId} are current again`
        : fresh && r.maxVerifiedAgeDays !== null
          ? `no verified backup of ${r.name} on ${r.nodeId} completed in the last ${r.maxVerifiedAgeDays} day(s)${why}`
          : `no successful backup of ${r.name} on ${r.nodeId} in the last ${r.backupMaxAgeDays} day(s)${why}`,
      at,
    };
  }

  const qualifiedName = (s: { nodeId: string; name: string }) => `${s.nodeId}/${s.name}`;

  const answerFor = (targets: readonly { nodeId: string; name: string }[]): BackupReportAnswer => {
    const n = targets.length;
    return { success: true, message: `backup report recorded for ${n} service${n === 1 ? '' : 's'}`, affected: n, services: targets.map(qualifiedName) };
  };

  /** One connection: BEGIN, the delivery's lock, targets locked, reports and services, the audit entry, COMMIT. */
  type Recorded = { duplicateOf: { nodeId: string; name: string }[] } | { targets: { nodeId: string; name: string }[]; changed: (ServiceRow & { was_overdue: boolean; bound: string | null })[] };

  /** The report's statements, inside the caller's transaction (a server run records its outcome with its own commit). */
  async function recordIn(db: Sql, input: BackupReportInput, deliveryHash: string, actor: AuditActor, now: Date): Promise<Recorded> {
    const [kind, value] = Object.entries(input.target)[0] as ['service' | 'slaGroup' | 'namespace' | 'serviceId', string];
    {
      // Deliveries of one body are recorded one at a time: a retry waits for the first and sees what it
      // committed, and a first attempt that crashed before its commit left nothing to be mistaken for it.
      await db.query(`SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtext($1))`, [deliveryHash]);
      const seen = await db.query<{ nodeId: string; name: string }>({
        name: 'opsgraph.backup.seen',
        text: `SELECT DISTINCT s."nodeId", s.name FROM "BackupReport" r JOIN "Service" s ON s.id = r."serviceId"
           WHERE r."deliveryHash" = $1 AND r."receivedAt" > $2 ORDER BY 1, 2`,
        values: [deliveryHash, new Date(now.getTime() - DUPLICATE_WINDOW_MS)],
      });
      if (seen.length) return { duplicateOf: seen };
      // Rows are locked in (nodeId, name) order, the order status reports lock them in: no deadlock,
      // and reports for different services never wait for each other.
      const targets = await db.query<{ id: string; name: string; nodeId: string }>({
        name: 'opsgraph.backup.targets',
        text: `SELECT s.id, s.name, s."nodeId" FROM "Service" s LEFT JOIN "SlaGroup" g ON g.id = s."slaGroupId"
           WHERE CASE $1 WHEN 'service' THEN s.name = $2 WHEN 'slaGroup' THEN g.name = $2 WHEN 'serviceId' THEN s.id::text = $2 ELSE s.namespace = $2 END
             AND ($3::text IS NULL OR s."nodeId" = $3)
           ORDER BY s."nodeId", s.name
           FOR UPDATE OF s`,
        values: [kind, value, input.nodeId ?? null],
      });
      if (!targets.length) {
        throw new AppError('NOT_FOUND', `no service matches ${kind} "${value}"${input.nodeId ? ` on node ${input.nodeId}` : ''}`, { field: kind, value });
      }
      // One name on several clusters is several services: a report for "the" service must say which.
      if (kind === 'service' && targets.length > 1) {
        const candidates = targets.map(qualifiedName);
        throw new AppError('CONFLICT', `service "${value}" runs on ${targets.length} nodes (${candidates.join(', ')}); send nodeId to say which`, {
          field: 'nodeId',
          candidates,
        });
      }
      // The UPDATE computes from the row it updates (node locks held): nothing read earlier can be stale.
      // A success below one of the service's sanity bounds is recorded as failed, naming the bound.
      const lastSuccess = `CASE WHEN ins.status = 'success' THEN GREATEST(s."lastSuccessfulBackupAt", $5) ELSE s."lastSuccessfulBackupAt" END`;
      const changed = await db.query<ServiceRow & { was_overdue: boolean; bound: string | null }>({
        name: 'opsgraph.backup.record',
        text: `WITH old AS (SELECT id, "backupOverdue" AS was FROM "Service" WHERE id = ANY($1::uuid[])),
         judged AS (
           SELECT s.id, CASE
             WHEN $2 <> 'success' THEN NULL
             WHEN s."minBackupSizeBytes" IS NOT NULL AND $3::bigint IS NOT NULL AND $3::bigint < s."minBackupSizeBytes"
               THEN 'sizeBytes ' || $3::bigint || ' is below minSizeBytes ' || s."minBackupSizeBytes"
             WHEN s."minBackupDurationSeconds" IS NOT NULL AND $9::int IS NOT NULL AND $9::int < s."minBackupDurationSeconds"
               THEN 'durationSeconds ' || $9::int || ' is below minDurationSeconds ' || s."minBackupDurationSeconds"
           END AS bound
           FROM "Service" s WHERE s.id = ANY($1::uuid[])),
         ins AS (
           INSERT INTO "BackupReport" (id, "serviceId", status, "sizeBytes", "durationSeconds", message, "completedAt", "receivedAt", "reportId", "deliveryHash")
           SELECT gen_random_uuid(), j.id, CASE WHEN j.bound IS NULL THEN $2::"BackupOutcome" ELSE 'failed'::"BackupOutcome" END, $3::bigint, $9::int,
                  CASE WHEN j.bound IS NULL THEN $4::text ELSE concat_ws('; ', j.bound, $4::text) END, $5, $6, $7, $8
           FROM judged j
           ON CONFLICT ("reportId", "serviceId") DO NOTHING
           RETURNING "serviceId", status)
         UPDATE "Service" s SET
           "lastBackupStatus" = CASE WHEN s."lastBackupAt" IS NULL OR $5 >= s."lastBackupAt" THEN ins.status ELSE s."lastBackupStatus" END,
           "lastBackupAt" = GREATEST(s."lastBackupAt", $5),
           "lastSuccessfulBackupAt" = ${lastSuccess},
           "backupOverdue" = ${backupOverdueSql('$6', lastSuccess, 's."lastVerifiedBackupAt"')},
           "updatedAt" = $6
         FROM ins WHERE s.id = ins."serviceId"
         RETURNING ${SERVICE_COLUMNS.map((c) => `s.${c}`).join(', ')}, (SELECT was FROM old WHERE old.id = s.id) AS was_overdue,
                   (SELECT bound FROM judged WHERE judged.id = s.id) AS bound`,
        values: [
          targets.map((x) => x.id),
          input.status,
          input.sizeBytes ?? null,
          input.message ?? null,
          input.completedAt,
          now,
          input.reportId ?? null,
          deliveryHash,
          input.durationSeconds ?? null,
        ],
      });
      // The backup alerts travel with the change (the outbox), so none is lost while Redis is away.
      await deps.outbox.add(db, SLA_ALERT, changed.filter((r) => r.backupOverdue !== r.was_overdue).map((r) => backupAlert(r, now)));
      // One entry per report, not per service: a namespace report is one act of one sender.
      // A repeated reportId inserted nothing and changed nothing, so it is not audited again.
      if (changed.length) {
        await deps.audit.record(db, actor, {
          action: 'backup.report',
          resourceType: 'backup_report',
          resourceId: input.reportId ?? null,
          after: { ...input, serviceIds: changed.map((r) => r.id) },
        });
      }
      return { targets, changed };
    }
  }

  /** After the commit: the relay runs now for the backup alerts the transaction wrote. */
  const alertFlips = async (outcome: Recorded, _now: Date) => {
    if ('changed' in outcome && outcome.changed.some((r) => r.backupOverdue !== r.was_overdue)) deps.outbox.nudge();
  };

  async function record(input: BackupReportInput, deliveryHash: string, actor: AuditActor): Promise<BackupReportAnswer> {
    const now = clock.now();
    const outcome = await inTransaction(deps.pool, (db) => recordIn(db, input, deliveryHash, actor, now));
    if ('duplicateOf' in outcome) return answerFor(outcome.duplicateOf);
    await alertFlips(outcome, now);
    return answerFor(outcome.targets);
  }

  return {
    /** Re-evaluates backupOverdue; an episode that starts or ends raises sla:alert once (the row flips once). */
    async evaluateBackups(): Promise<number> {
      const now = clock.now();
      const rows = await inTransaction(deps.pool, async (sql) => {
        const flipped = await sql.query<ServiceRow>(
          // Rows a report is changing right now are skipped (no lock waits, no deadlock); the next run takes them.
          `WITH due AS (SELECT id FROM "Service" WHERE "backupOverdue" IS DISTINCT FROM ${backupOverdueSql('$1')} FOR UPDATE SKIP LOCKED)
           UPDATE "Service" s SET "backupOverdue" = ${backupOverdueSql('$1')}, "updatedAt" = $1 FROM due
           WHERE s.id = due.id AND s."backupOverdue" IS DISTINCT FROM ${backupOverdueSql('$1')}
           RETURNING ${SERVICE_COLUMNS.map((c) => `s.${c}`).join(', ')}`,
          [now],
        );
        await deps.outbox.add(sql, SLA_ALERT, flipped.map((r) => backupAlert(r, now)));
        return flipped;
      });
      if (rows.length) deps.outbox.nudge();
      return rows.length;
    },

    /**
     * A backup job's report, for one service, a group or a namespace. Idempotent on what the
     * database committed: the same `reportId` records nothing new, and the same delivery (sender
     * and body) within a minute gets the first one's answer.
     */
    recordBackup(input: BackupReportInput, delivery: string, actor: AuditActor): Promise<BackupReportAnswer> {
      return record(input, createHash('sha256').update(delivery).digest('hex'), actor);
    },

    /**
     * A server-run backup attributed to a service counts like a report, once per backup (its id is
     * the reportId), recorded in the run's own transaction; call the answer after the commit.
     */
    async recordRunIn(
      db: Sql,
      run: { backupId: string; serviceId: string; status: 'success' | 'failed'; sizeBytes?: number; durationSeconds?: number; message?: string; completedAt: Date },
      actor: AuditActor,
    ): Promise<() => Promise<void>> {
      const now = clock.now();
      const outcome = await recordIn(
        db,
        { target: { serviceId: run.serviceId }, status: run.status, sizeBytes: run.sizeBytes, durationSeconds: run.durationSeconds, message: run.message, completedAt: run.completedAt, reportId: run.backupId },
        createHash('sha256').update(`run\n${run.backupId}`).digest('hex'),
        actor,
        now,
      );
      return () => alertFlips(outcome, now);
    },

    /**
     * A backup of the service passed verification: `lastVerifiedAt` moves to now, and the newest
     * verified backup's completion (what maxVerifiedAgeDays is measured on) to `backupCompletedAt`.
     */
    async recordVerified(serviceId: string, backupCompletedAt: Date): Promise<void> {
      const now = clock.now();
      const rows = await inTransaction(deps.pool, async (db) => {
        await db.query(`SELECT 1 FROM "Service" WHERE id = $1::uuid FOR UPDATE`, [serviceId]);
        const verified = `GREATEST("lastVerifiedBackupAt", $3::timestamptz)`;
        const flipped = await db.query<ServiceRow & { was_overdue: boolean }>({
          name: 'opsgraph.backup.verified',
          text: `UPDATE "Service" s SET "lastVerifiedAt" = $2, "lastVerifiedBackupAt" = ${verified},
                   "backupOverdue" = ${backupOverdueSql('$2', '"lastSuccessfulBackupAt"', verified)}, "updatedAt" = $2
                 FROM (SELECT "backupOverdue" AS was FROM "Service" WHERE id = $1::uuid) old
                 WHERE s.id = $1::uuid
                 RETURNING ${SERVICE_COLUMNS.map((c) => `s.${c}`).join(', ')}, old.was AS was_overdue`,
          values: [serviceId, now, backupCompletedAt],
        });
        await deps.outbox.add(db, SLA_ALERT, flipped.filter((r) => r.backupOverdue !== r.was_overdue).map((r) => backupAlert(r, now)));
        return flipped;
      });
      if (rows.some((r) => r.backupOverdue !== r.was_overdue)) deps.outbox.nudge();
    },
  };
}

export type BackupsService = ReturnType<typeof createBackupsService>;
