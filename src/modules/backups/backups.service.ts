import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { AuditActor } from '../../auth/actor.js';
import type { AuditRecorder } from '../../infra/audit-recorder.js';
import type { Clock } from '../../infra/clock.js';
import type { Outbox } from '../../infra/outbox.js';
import type { Logger } from '../../infra/logger.js';
import { inTransaction } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { SLA_ALERT, type SlaAlertEvent } from '../sla/sla.events.js';
import { backupOverdueSql, SERVICE_COLUMNS, type ServiceRow } from '../sla/sla.records.js';

export interface BackupReportInput {
  target: { service: string } | { slaGroup: string } | { namespace: string };
  nodeId?: string;
  status: 'success' | 'failed' | 'partial';
  sizeBytes?: number;
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

  function backupAlert(r: ServiceRow, at: Date): SlaAlertEvent {
    return {
      scope: 'BACKUP',
      serviceId: r.id,
      slaGroupId: r.slaGroupId,
      status: r.backupOverdue ? 'OVERDUE' : 'RESOLVED',
      message: r.backupOverdue
        ? `no successful backup of ${r.name} on ${r.nodeId} in the last ${r.backupMaxAgeDays} day(s)`
        : `backups of ${r.name} on ${r.nodeId} are current again`,
      at,
    };
  }

  const qualifiedName = (s: { nodeId: string; name: string }) => `${s.nodeId}/${s.name}`;

  const answerFor = (targets: readonly { nodeId: string; name: string }[]): BackupReportAnswer => {
    const n = targets.length;
    return { success: true, message: `backup report recorded for ${n} service${n === 1 ? '' : 's'}`, affected: n, services: targets.map(qualifiedName) };
  };

  /** One connection: BEGIN, the delivery's lock, targets locked, reports and services, the audit entry, COMMIT. */
  async function record(input: BackupReportInput, deliveryHash: string, actor: AuditActor): Promise<BackupReportAnswer> {
    const now = clock.now();
    const [kind, value] = Object.entries(input.target)[0] as ['service' | 'slaGroup' | 'namespace', string];
    const outcome = await inTransaction(deps.pool, async (db) => {
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
           WHERE CASE $1 WHEN 'service' THEN s.name = $2 WHEN 'slaGroup' THEN g.name = $2 ELSE s.namespace = $2 END
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
      const lastSuccess = `CASE WHEN $2 = 'success' THEN GREATEST(s."lastSuccessfulBackupAt", $5) ELSE s."lastSuccessfulBackupAt" END`;
      const changed = await db.query<ServiceRow & { was_overdue: boolean }>({
        name: 'opsgraph.backup.record',
        text: `WITH old AS (SELECT id, "backupOverdue" AS was FROM "Service" WHERE id = ANY($1::uuid[])),
         ins AS (
           INSERT INTO "BackupReport" (id, "serviceId", status, "sizeBytes", message, "completedAt", "receivedAt", "reportId", "deliveryHash")
           SELECT gen_random_uuid(), id, $2::"BackupOutcome", $3, $4, $5, $6, $7, $8 FROM unnest($1::uuid[]) AS t(id)
           ON CONFLICT ("reportId", "serviceId") DO NOTHING
           RETURNING "serviceId")
         UPDATE "Service" s SET
           "lastBackupStatus" = CASE WHEN s."lastBackupAt" IS NULL OR $5 >= s."lastBackupAt" THEN $2::"BackupOutcome" ELSE s."lastBackupStatus" END,
           "lastBackupAt" = GREATEST(s."lastBackupAt", $5),
           "lastSuccessfulBackupAt" = ${lastSuccess},
           "backupOverdue" = s."backupExpected" AND (${lastSuccess} IS NULL OR ${lastSuccess} < $6::timestamptz - make_interval(days => s."backupMaxAgeDays")),
           "updatedAt" = $6
         FROM ins WHERE s.id = ins."serviceId"
         RETURNING ${SERVICE_COLUMNS.map((c) => `s.${c}`).join(', ')}, (SELECT was FROM old WHERE old.id = s.id) AS was_overdue`,
        values: [targets.map((x) => x.id), input.status, input.sizeBytes ?? null, input.message ?? null, input.completedAt, now, input.reportId ?? null, deliveryHash],
      });
      // The backup alerts travel with the change (the outbox), so none is lost while Redis is away.
      const flipped = changed.filter((r) => r.backupOverdue !== r.was_overdue).map((r) => backupAlert(r, now));
      await deps.outbox.add(db, SLA_ALERT, flipped);
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
    });
    if ('duplicateOf' in outcome && outcome.duplicateOf) return answerFor(outcome.duplicateOf);
    const { targets, changed } = outcome;
    if (changed.some((r) => r.backupOverdue !== r.was_overdue)) deps.outbox.nudge();
    return answerFor(targets);
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
  };
}

export type BackupsService = ReturnType<typeof createBackupsService>;
