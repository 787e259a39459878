import type pg from 'pg';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { Logger } from '../../infra/logger.js';
import { inTransaction, type Sql } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { availability, bucketStart } from '../../lib/sla.js';
import { closest } from '../../lib/suggest.js';
import type { AuditActor } from '../../auth/actor.js';
import type { AuditChange, AuditRecorder } from '../../infra/audit-recorder.js';
import { changesFrom, type Change, type Context, type Observation, type ServiceStatus } from '../../lib/status-history.js';
import { invalidateRollups } from './sla.rollups.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';
import { admitServices } from './sla.capacity.js';
import { nodeLock } from './sla.locks.js';
import { followIncidents, syncIncidents } from './sla.incidents.js';
import { SLA_INCIDENT, STATUS_CHANGED, type IncidentEvent, type StatusChangedEvent } from './sla.events.js';
import { SERVICE_COLUMNS, toServiceRecord, type ServiceRow } from './sla.records.js';

export interface StatusReport {
  nodeId: string;
  operatorVersion?: string;
  observedAt: Date;
  services: {
    name: string;
    status: ServiceStatus;
    // Left out (undefined): keep the stored value. null: clear it.
    replicas?: number | null;
    readyReplicas?: number | null;
    slaGroup?: string | null;
    workloadType?: string | null;
    namespace?: string | null;
    displayName?: string | null;
  }[];
  slaGroups: { name: string; displayName?: string; tier?: string }[];
}


/** Which optional fields a service entry carries, as the bit mask the upsert reads (undefined: not given). */
const OPTIONAL_FIELDS = ['replicas', 'readyReplicas', 'workloadType', 'namespace', 'displayName', 'slaGroup'] as const;
const givenFields = (entry: StatusReport['services'][number]) => OPTIONAL_FIELDS.reduce((mask, f, i) => (entry[f] === undefined ? mask : mask | (1 << i)), 0);

type UpsertRow = ServiceRow & { prev_status: ServiceStatus | null; prev_reported: ServiceStatus | null; prev_seen: Date | null; fresh: boolean };

/**
 * The hot statements are named, so each connection plans them once (pg prepares named statements).
 *
 * Status sync from an agent, in one transaction of a fixed number of statements
 * whatever the number of services: node, groups, services, the report itself,
 * and the history. In-order live reports append to the history directly; a late,
 * replayed or tied report recomputes the history of its services from the kept
 * reports from its instant on, so the result is the same as in-order delivery.
 */
export function createStatusIngest(deps: { pool: pg.Pool; clock: Clock; events: EventBus; logger: Logger; audit: AuditRecorder; staleMs: number; licenses: Pick<LicenseGuard, 'maxServices'> }) {
  const { staleMs } = deps;

  /**
   * Groups named by the report, created when new, their details updated only when they differ;
   * nodes sharing a group do not queue behind each other's transactions. The groups it created or
   * changed come back too: that is configuration (a tier sets an SLA target), so it is audited.
   */
  async function existingGroupNames(db: Sql): Promise<string[]> {
    const rows = await db.query<{ name: string }>(`SELECT name FROM "SlaGroup" ORDER BY name LIMIT 1000`);
    return rows.map((r) => r.name);
  }

  async function upsertGroups(db: Sql, report: StatusReport): Promise<{ ids: Map<string, string>; changes: AuditChange[] }> {
    const given = new Map(report.slaGroups.map((g) => [g.name, g]));
    const names = [...new Set([...given.keys(), ...report.services.flatMap((s) => (s.slaGroup ? [s.slaGroup] : []))])].sort();
    if (!names.length) return { ids: new Map(), changes: [] };
    const display = names.map((n) => given.get(n)?.displayName ?? null);
    const tier = names.map((n) => given.get(n)?.tier ?? null);
    const now = deps.clock.now();
    // One statement: INSERT ... DO NOTHING takes no lock on existing rows, the UPDATE touches only
    // groups whose details differ, and the names come back with their ids (and, for the groups
    // created or changed, what they were and are: "old" reads the rows as they were before the UPDATE).
    type GroupRow = { id: string; name: string; change: 'created' | 'updated' | null; display: string | null; tier: string | null; old_display: string | null; old_tier: string | null };
    const rows = await db.query<GroupRow>({
      name: 'opsgraph.ingest.groups',
      text: `WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS g(name, display, tier)),
       old AS (
         SELECT g.id, g."displayName", g.tier FROM "SlaGroup" g JOIN input i ON g.name = i.name
         WHERE i.display IS NOT NULL OR i.tier IS NOT NULL),
       ins AS (
         INSERT INTO "SlaGroup" (id, name, "displayName", tier, "createdAt", "updatedAt")
         SELECT gen_random_uuid(), name, COALESCE(display, name), COALESCE(tier, 'standard'), $4, $4 FROM input WHERE name = ANY($5::text[])
         ON CONFLICT (name) DO NOTHING RETURNING id, name, "displayName", tier),
       upd AS (
         UPDATE "SlaGroup" g SET "displayName" = COALESCE(i.display, g."displayName"), tier = COALESCE(i.tier, g.tier), "updatedAt" = $4
         FROM input i
         WHERE g.name = i.name AND (i.display IS NOT NULL OR i.tier IS NOT NULL)
           AND (g."displayName", g.tier) IS DISTINCT FROM (COALESCE(i.display, g."displayName"), COALESCE(i.tier, g.tier))
         RETURNING g.id, g.name, g."displayName", g.tier)
       SELECT id, name, 'created' AS change, "displayName" AS display, tier, NULL AS old_display, NULL AS old_tier FROM ins
       UNION ALL
       SELECT u.id, u.name, 'updated', u."displayName", u.tier, o."displayName", o.tier FROM upd u JOIN old o ON o.id = u.id
       UNION ALL
       SELECT id, name, NULL, NULL, NULL, NULL, NULL FROM "SlaGroup" WHERE name = ANY($1::text[]) AND id NOT IN (SELECT id FROM upd)`,
      values: [names, display, tier, now, [...given.keys()]],
    });
    const ids = new Map(rows.map((r) => [r.name, r.id]));
    if (ids.size < names.length) {
      // Another report created one of them while this statement ran: a new statement sees it.
      const late = await db.query<{ id: string; name: string }>(`SELECT id, name FROM "SlaGroup" WHERE name = ANY($1::text[])`, [names]);
      for (const r of late) ids.set(r.name, r.id);
    }
    // Only a report's slaGroups create groups: a misspelt name on a service must not make a new
    // standard-tier group and move the service out of its own. The transaction rolls back whole.
    const unknown = report.services.findIndex((x) => x.slaGroup && !ids.has(x.slaGroup));
    if (unknown >= 0) {
      const name = report.services[unknown]!.slaGroup!;
      const hint = closest(name, [...ids.keys(), ...(await existingGroupNames(db))]);
      throw new AppError('BAD_USER_INPUT', `services[${unknown}].slaGroup: no SLA group "${name}"${hint ? `; did you mean ${hint}?` : ''} (define it in slaGroups to create it)`, {
        field: `services[${unknown}].slaGroup`,
      });
    }
    const changes = rows
      .filter((r) => r.change)
      .map(
        (r): AuditChange => ({
          action: r.change === 'created' ? 'slagroup.create' : 'slagroup.update',
          resourceType: 'sla_group',
          resourceId: r.id,
          before: r.change === 'updated' ? { id: r.id, name: r.name, displayName: r.old_display, tier: r.old_tier } : null,
          after: { id: r.id, name: r.name, displayName: r.display, tier: r.tier },
        }),
      );
    return { ids, changes };
  }

  async function upsertServices(db: Sql, report: StatusReport, groups: Map<string, string>): Promise<UpsertRow[]> {
    const s = report.services;
    const rows = await db.query<UpsertRow>({
      name: 'opsgraph.ingest.services',
      text: `WITH input AS (
         SELECT * FROM unnest($2::text[], $3::"ServiceStatus"[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::uuid[], $12::int[])
           AS i(name, status, replicas, ready, workload, namespace, display, group_id, given)),
       prev AS (
         SELECT s.name, s.status, s."reportedStatus", s."lastSeenAt", s.replicas, s."readyReplicas", s."workloadType", s.namespace,
                s."displayName", s."slaGroupId"
         FROM "Service" s JOIN input i ON s."nodeId" = $1 AND s.name = i.name),
       -- A field the report left out keeps its stored value (the node lock keeps prev current); null clears it.
       merged AS (
         SELECT i.name, i.status,
           CASE WHEN i.given & 1 > 0 THEN i.replicas ELSE p.replicas END AS replicas,
           CASE WHEN i.given & 2 > 0 THEN i.ready ELSE p."readyReplicas" END AS ready,
           CASE WHEN i.given & 4 > 0 THEN i.workload ELSE p."workloadType" END AS workload,
           CASE WHEN i.given & 8 > 0 THEN i.namespace ELSE p.namespace END AS namespace,
           CASE WHEN i.given & 16 > 0 THEN i.display ELSE p."displayName" END AS display,
           CASE WHEN i.given & 32 > 0 THEN i.group_id ELSE p."slaGroupId" END AS group_id
         FROM input i LEFT JOIN prev p ON p.name = i.name),
       up AS (
         INSERT INTO "Service" AS s (id, "nodeId", name, status, "reportedStatus", "lastSeenAt", replicas, "readyReplicas",
                                     "workloadType", namespace, "displayName", "slaGroupId", "createdAt", "updatedAt")
         SELECT gen_random_uuid(), $1, name, status, status, $10, replicas, ready, workload, namespace, display, group_id, $11, $11 FROM merged
         -- Rows are locked in name order, as backup reports lock them: no deadlock between the two.
         ORDER BY name
         ON CONFLICT ("nodeId", name) DO UPDATE SET
           status = CASE WHEN s."lastSeenAt" IS NULL OR EXCLUDED."lastSeenAt" > s."lastSeenAt" THEN EXCLUDED.status ELSE s.status END,
           "reportedStatus" = CASE WHEN s."lastSeenAt" IS NULL OR EXCLUDED."lastSeenAt" > s."lastSeenAt" THEN EXCLUDED.status ELSE s."reportedStatus" END,
           -- A replayed report must not undo a newer one's details.
           replicas = CASE WHEN s."lastSeenAt" IS NULL OR EXCLUDED."lastSeenAt" > s."lastSeenAt" THEN EXCLUDED.replicas ELSE s.replicas END,
           "readyReplicas" = CASE WHEN s."lastSeenAt" IS NULL OR EXCLUDED."lastSeenAt" > s."lastSeenAt" THEN EXCLUDED."readyReplicas" ELSE s."readyReplicas" END,
           "workloadType" = CASE WHEN s."lastSeenAt" IS NULL OR EXCLUDED."lastSeenAt" > s."lastSeenAt" THEN EXCLUDED."workloadType" ELSE s."workloadType" END,
           namespace = CASE WHEN s."lastSeenAt" IS NULL OR EXCLUDED."lastSeenAt" > s."lastSeenAt" THEN EXCLUDED.namespace ELSE s.namespace END,
           "displayName" = CASE WHEN s."lastSeenAt" IS NULL OR EXCLUDED."lastSeenAt" > s."lastSeenAt" THEN EXCLUDED."displayName" ELSE s."displayName" END,
           "slaGroupId" = CASE WHEN s."lastSeenAt" IS NULL OR EXCLUDED."lastSeenAt" > s."lastSeenAt" THEN EXCLUDED."slaGroupId" ELSE s."slaGroupId" END,
           "lastSeenAt" = GREATEST(s."lastSeenAt", EXCLUDED."lastSeenAt"),
           "updatedAt" = $11
         RETURNING ${SERVICE_COLUMNS.map((c) => `s.${c}`).join(', ')}),
       -- The report itself is kept for merging late ones; an exact duplicate inserts and returns nothing.
       obs AS (
         INSERT INTO "StatusObservation" ("serviceId", "observedAt", status)
         SELECT up.id, $10, i.status FROM up JOIN input i ON i.name = up.name
         ON CONFLICT ("serviceId", "observedAt") DO UPDATE SET status = GREATEST("StatusObservation".status, EXCLUDED.status)
         WHERE GREATEST("StatusObservation".status, EXCLUDED.status) <> "StatusObservation".status
         RETURNING "serviceId")
       SELECT up.*, prev.status AS prev_status, prev."reportedStatus" AS prev_reported, prev."lastSeenAt" AS prev_seen, obs."serviceId" IS NOT NULL AS fresh
       FROM up LEFT JOIN prev ON prev.name = up.name LEFT JOIN obs ON obs."serviceId" = up.id`,
      values: [
        report.nodeId,
        s.map((x) => x.name),
        s.map((x) => x.status),
        s.map((x) => x.replicas ?? null),
        s.map((x) => x.readyReplicas ?? null),
        s.map((x) => x.workloadType ?? null),
        s.map((x) => x.namespace ?? null),
        s.map((x) => x.displayName ?? null),
        s.map((x) => (x.slaGroup ? groups.get(x.slaGroup)! : null)),
        report.observedAt,
        deps.clock.now(),
        s.map(givenFields),
      ],
    });
    return rows;
  }

  /**
   * The history of `ids` around instant `t`, recomputed from the kept reports. A report at t can only
   * change the history between the report before it (its context) and the first report after it:
   * from that one on, statuses and stale instants depend on it and later reports alone. So only that
   * stretch is rewritten, and replaying a long buffer costs the same per report however much came after.
   * Returns the status now of the services whose newest report this is (for the others it is unchanged).
   */
  async function recompute(db: Sql, ids: string[], t: Date, now: Date): Promise<Map<string, { status: ServiceStatus; reported: ServiceStatus }>> {
    // The context is the newest report before t, however old: its stale instant may still lie ahead of it.
    const [obs, before] = await Promise.all([
      db.query<{ serviceId: string; observedAt: Date; status: ServiceStatus }>({
        name: 'opsgraph.ingest.around',
        text: `(SELECT DISTINCT ON ("serviceId") "serviceId", "observedAt", status FROM "StatusObservation"
            WHERE "serviceId" = ANY($1::uuid[]) AND "observedAt" < $2 ORDER BY "serviceId", "observedAt" DESC)
         UNION ALL
         (SELECT o."serviceId", o."observedAt", o.status FROM unnest($1::uuid[]) AS s(id)
            CROSS JOIN LATERAL (SELECT * FROM "StatusObservation" x WHERE x."serviceId" = s.id AND x."observedAt" >= $2 ORDER BY x."observedAt" LIMIT 2) o)
         ORDER BY 1, 2`,
        values: [ids, t],
      }),
      db.query<{ serviceId: string }>(`SELECT DISTINCT "serviceId" FROM "StatusChange" WHERE "serviceId" = ANY($1::uuid[]) AND at < $2`, [ids, t]),
    ]);
    const hadHistory = new Set(before.map((r) => r.serviceId));
    const byService = new Map<string, Observation[]>(ids.map((id) => [id, []]));
    for (const o of obs) byService.get(o.serviceId)!.push({ at: o.observedAt.getTime(), status: o.status });

    const changes: (Change & { serviceId: string })[] = [];
    const current = new Map<string, { status: ServiceStatus; reported: ServiceStatus }>();
    const stretches: { id: string; after: Date; until: Date | null }[] = [];
    for (const [id, list] of byService) {
      const last = list[0] && list[0].at < t.getTime() ? list[0] : undefined;
      const later = last ? list.slice(1) : list;
      const next = later[1];
      // Reports older than the replay window are gone; then only the history says whether anything came before.
      const context: Context = last ? { lastAt: last.at, status: last.status } : { lastAt: null, status: hadHistory.has(id) ? 'UNKNOWN' : null };
      // With a later report, nothing past it changes (and `now` plays no part: that report decides).
      for (const c of changesFrom(later, staleMs, context, next ? undefined : now.getTime())) if (!next || c.at <= next.at) changes.push({ serviceId: id, ...c });
      // Everything after the context report is recomputed: its stale marker may fall before t.
      stretches.push({ id, after: new Date(last ? last.at : t.getTime() - 1), until: next ? new Date(next.at) : null });
      if (!next) {
        const newest = later[0]!;
        current.set(id, { status: now.getTime() - newest.at > staleMs ? 'UNKNOWN' : newest.status, reported: newest.status });
      }
    }
    await db.query(
      `DELETE FROM "StatusChange" c USING unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS f(id, after, until)
       WHERE c."serviceId" = f.id AND c.at > f.after AND (f.until IS NULL OR c.at <= f.until)`,
      [stretches.map((x) => x.id), stretches.map((x) => x.after), stretches.map((x) => x.until)],
    );
    await insertChanges(db, changes, now);
    if (current.size) {
      await db.query(
        `UPDATE "Service" s SET status = c.status, "reportedStatus" = c.reported
         FROM unnest($1::uuid[], $2::"ServiceStatus"[], $3::"ServiceStatus"[]) AS c(id, status, reported)
         WHERE s.id = c.id AND (s.status, s."reportedStatus") IS DISTINCT FROM (c.status, c.reported)`,
        [[...current.keys()], [...current.values()].map((c) => c.status), [...current.values()].map((c) => c.reported)],
      );
    }
    return current;
  }

  async function insertChanges(db: Sql, changes: (Change & { serviceId: string })[], now: Date): Promise<void> {
    if (!changes.length) return;
    await db.query({
      name: 'opsgraph.ingest.changes',
      text: `INSERT INTO "StatusChange" ("serviceId", at, status, "receivedAt")
       SELECT id, at, status, $4 FROM unnest($1::uuid[], $2::timestamptz[], $3::"ServiceStatus"[]) AS c(id, at, status)
       ON CONFLICT ("serviceId", at) DO UPDATE SET status = EXCLUDED.status`,
      values: [changes.map((c) => c.serviceId), changes.map((c) => new Date(c.at)), changes.map((c) => c.status), now],
    });
  }

  return {
    async ingest(input: StatusReport, actor: AuditActor): Promise<{ processed: number; changed: number; refused?: string[]; maxServices?: number }> {
      const now = deps.clock.now();
      const t = input.observedAt;
      const events: StatusChangedEvent[] = [];
      let incidentEvents: IncidentEvent[] = [];
      let report = input;
      let refused: string[] = [];
      const maxServices = await deps.licenses.maxServices();
      await inTransaction(deps.pool, async (db) => {
        // The node lock first (the INSERT reads from it), then the node row.
        await db.query({
          name: 'opsgraph.ingest.node',
          text: `WITH lock AS (SELECT ${nodeLock('$1')})
           INSERT INTO "Node" (id, "operatorVersion", "lastReportAt", "createdAt", "updatedAt") SELECT $1, $2, $3, $4, $4 FROM lock
           ON CONFLICT (id) DO UPDATE SET "operatorVersion" = CASE WHEN "Node"."lastReportAt" IS NULL OR EXCLUDED."lastReportAt" > "Node"."lastReportAt"
               THEN COALESCE(EXCLUDED."operatorVersion", "Node"."operatorVersion") ELSE "Node"."operatorVersion" END,
             "lastReportAt" = GREATEST("Node"."lastReportAt", EXCLUDED."lastReportAt"), "updatedAt" = $4`,
          values: [report.nodeId, report.operatorVersion ?? null, t, now],
        });
        if (maxServices !== null) {
          const admission = await admitServices(db, report.nodeId, input.services.map((s) => s.name), maxServices);
          refused = admission.refused;
          if (refused.length) report = { ...input, services: input.services.filter((s) => admission.admitted.has(s.name)) };
        }
        const { ids: groups, changes: groupChanges } = await upsertGroups(db, report);
        const rows = report.services.length ? await upsertServices(db, report, groups) : [];
        const reported = new Map(report.services.map((s) => [s.name, s.status]));

        const live = t.getTime() + staleMs >= now.getTime();
        const appended: (Change & { serviceId: string })[] = [];
        const moves: { serviceId: string; slaGroupId: string | null; at: number; enters: 'UP' | 'DOWN' }[] = [];
        const late: UpsertRow[] = [];
        for (const r of rows) {
          if (!r.fresh) continue;
          const status = reported.get(r.name)!;
          const prevSeen = r.prev_seen?.getTime() ?? null;
          const staleMarked = r.prev_status !== r.prev_reported;
          const first = prevSeen === null && r.prev_reported === null;
          const inOrder = prevSeen !== null && t.getTime() > prevSeen && (t.getTime() - prevSeen > staleMs || !staleMarked);
          if (!live || !(first || inOrder)) {
            late.push(r);
            continue;
          }
          // In order and live: the history only grows at its end.
          const context: Context = first ? { lastAt: null, status: null } : { lastAt: prevSeen!, status: r.prev_reported! };
          let before = availability(context.status);
          for (const c of changesFrom([{ at: t.getTime(), status }], staleMs, context)) {
            appended.push({ serviceId: r.id, ...c });
            // Incidents open on entering down and close on entering up; any other change leaves them be.
            const after = availability(c.status);
            if (after !== 'NEITHER' && after !== before) moves.push({ serviceId: r.id, slaGroupId: r.slaGroupId, at: c.at, enters: after });
            if (after !== 'NEITHER') before = after;
          }
          if (r.status !== r.prev_status) {
            events.push({ service: toServiceRecord(r), previousStatus: r.prev_status, status: r.status, observedAt: t });
          }
        }
        await insertChanges(db, appended, now);
        if (late.length) {
          const current = await recompute(db, late.map((r) => r.id), t, now);
          for (const r of late) {
            const c = current.get(r.id);
            if (c && c.status !== r.prev_status) {
              events.push({ service: { ...toServiceRecord(r), status: c.status }, previousStatus: r.prev_status, status: c.status, observedAt: t });
            }
          }
        }
        // Incidents follow the history: appended changes move them directly; late reports re-derive
        // them from just before t (the anchor must be the last UP change before the ones written now).
        incidentEvents = [
          ...(await followIncidents(db, moves)),
          ...(await syncIncidents(db, late.map((r) => ({ id: r.id, slaGroupId: r.slaGroupId })), new Date(t.getTime() - 1))),
        ];
        // A report in a closed day changes that day's numbers, even one that adds no change point
        // (it moves the instant its service goes stale): its rollups are recomputed from that day.
        const today = bucketStart(now.getTime(), 'DAY');
        if (t.getTime() < today) {
          const fresh = rows.filter((r) => r.fresh);
          const subjects = [...fresh.map((r) => ({ id: r.id, scope: 'SERVICE' as const })), ...[...new Set(fresh.flatMap((r) => (r.slaGroupId ? [r.slaGroupId] : [])))].map((id) => ({ id, scope: 'GROUP' as const }))];
          await invalidateRollups(db, subjects, new Date(bucketStart(t.getTime(), 'DAY')), now);
        }
        // Last, so the chain lock is held only until the commit; most reports change no group and skip it.
        await deps.audit.record(db, actor, groupChanges);
      });
      // After commit, so a subscriber never hears of a change that was rolled back; and the report
      // is stored whatever happens to Redis, so the agent must not be told to send it again. Both at
      // once (they still leave in this order): a Redis that does not answer costs one command timeout.
      await Promise.all([deps.events.publish(STATUS_CHANGED, events), deps.events.publish(SLA_INCIDENT, incidentEvents)]);
      if (refused.length) {
        deps.logger.warn({ nodeId: report.nodeId, refused: refused.length, maxServices }, 'new services refused: the license limit is reached');
        return { processed: report.services.length, changed: events.length, refused, maxServices: maxServices! };
      }
      return { processed: report.services.length, changed: events.length };
    },
  };
}

export type StatusIngest = ReturnType<typeof createStatusIngest>;
