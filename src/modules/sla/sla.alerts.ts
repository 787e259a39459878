import type pg from 'pg';
import { inTransaction } from '../../infra/sql.js';
import type { Outbox } from '../../infra/outbox.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';
import type { SlaEngine } from './sla.engine.js';
import { SLA_ALERT, type SlaAlertEvent } from './sla.events.js';

/**
 * Evaluates the current month's error budget of every service in a group and of every group;
 * a subject that enters AT_RISK or BREACHED raises sla:alert once. The last status is kept per
 * subject and month, and only the statement that changes it reports the change, so several
 * workers evaluating at once still alert once. The alerts go to the outbox in the transaction
 * that moves the state, so one raised while Redis is away is delivered when it is back (the
 * alerts module turns them into alerts and notifications).
 */
export function createSlaAlerts(deps: { engine: SlaEngine; pool: pg.Pool; clock: Clock; outbox: Pick<Outbox, 'add' | 'nudge'>; logger: Logger; licenses: Pick<LicenseGuard, 'has'> }) {
  return {
    async evaluate(): Promise<number> {
      // Error-budget alerts are the sla plugin's; without it nothing is evaluated or remembered, so a
      // license activated later alerts on the budgets already used up. (Backup alerts are not gated.)
      if (!(await deps.licenses.has('sla'))) return 0;
      const now = deps.clock.now();
      const period = now.toISOString().slice(0, 7);
      const subjects = await deps.engine.monthStatuses();
      if (!subjects.length) return 0;
      const byKey = new Map(subjects.map((s) => [`${s.scope}:${s.id}`, s]));
      const raised = await inTransaction(deps.pool, async (sql) => {
        const rows = await sql.query<{ scope: 'SERVICE' | 'GROUP'; subjectId: string; status: string }>(
          `INSERT INTO "SlaAlertState" (scope, "subjectId", period, status, "updatedAt")
           SELECT scope, id, $4, status, $5 FROM unnest($1::text[], $2::uuid[], $3::text[]) AS i(scope, id, status)
           ON CONFLICT (scope, "subjectId", period) DO UPDATE SET status = EXCLUDED.status, "updatedAt" = EXCLUDED."updatedAt"
           WHERE "SlaAlertState".status <> EXCLUDED.status
           RETURNING scope, "subjectId", status`,
          [subjects.map((s) => s.scope), subjects.map((s) => s.id), subjects.map((s) => s.status), period, now],
        );
        const alerts: SlaAlertEvent[] = rows
          .filter((r) => r.status === 'AT_RISK' || r.status === 'BREACHED')
          .map((r) => {
            const s = byKey.get(`${r.scope}:${r.subjectId}`)!;
            return {
              scope: s.scope,
              serviceId: s.serviceId,
              slaGroupId: s.slaGroupId,
              status: s.status,
              message: `${s.scope === 'GROUP' ? 'SLA group' : 'service'} ${s.name} is ${s.status}: ${s.consumedMinutes.toFixed(1)} of ${s.allowedMinutes.toFixed(1)} minutes of downtime allowed in ${period} used`,
              at: now,
            };
          });
        await deps.outbox.add(sql, SLA_ALERT, alerts);
        return alerts.length;
      });
      if (raised) deps.outbox.nudge();
      return raised;
    },
  };
}

export type SlaAlerts = ReturnType<typeof createSlaAlerts>;
