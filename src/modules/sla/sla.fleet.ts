import type pg from 'pg';
import { sqlOf } from '../../infra/sql.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../infra/prisma.js';
import { AppError } from '../../lib/errors.js';
import { assertUuid } from '../../lib/ids.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';
import { canonicalJson } from '../../lib/audit-chain.js';
import { targetUptime } from '../../lib/sla-targets.js';
import type { AuditActor } from '../../auth/actor.js';
import type { AuditRecorder } from '../../infra/audit-recorder.js';
import { nodeStatus, type ServiceStatus } from '../../lib/status-history.js';
import type { FleetCoverage } from '../../lib/ops-console.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';
import { admitServices, capacityError } from './sla.capacity.js';
import { nodeLock, tryNodeLock } from './sla.locks.js';
import { STATUS_CHANGED, type StatusChangedEvent } from './sla.events.js';
import type { IncidentRecord } from './sla.incidents.js';
import { backupOverdueSql, SERVICE_COLUMNS, toServiceRecord, type ServiceRecord, type ServiceRow } from './sla.records.js';

export interface GroupRecord {
  id: string;
  name: string;
  displayName: string;
  tier: string;
  targetUptime: number;
  services: ServiceRecord[];
}

export interface NodeRecord {
  id: string;
  operatorVersion: string | null;
  lastHeartbeatAt: Date | null;
  /** observedAt of the newest status report from the node. */
  lastReportAt: Date | null;
  status: 'ONLINE' | 'OFFLINE';
  watchedServices: number;
  healthyServices: number;
  unhealthyServices: number;
}

export interface ServiceFilter {
  nodeId?: string | null;
  slaGroupId?: string | null;
  status?: ServiceStatus | null;
  namespace?: string | null;
  /** The service's name, exactly. */
  name?: string | null;
  /** Case-insensitive part of the name, the display name or the namespace. */
  search?: string | null;
}

/** What `SlaGroup.incidents` asks of one group: only open (true) or closed (false) ones, newest first, at most `limit`. */
export interface GroupIncidentsKey {
  groupId: string;
  open: boolean | null;
  limit: number;
}

/** The wildcards of LIKE taken literally: a search for `50%` finds "50%", not "50" and anything after it. */
const literal = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

const toGroup = (g: { id: string; name: string; displayName: string; tier: string; targetUptime: number | null }) => ({
  id: g.id,
  name: g.name,
  displayName: g.displayName,
  tier: g.tier,
  targetUptime: targetUptime(g),
});

/** Nodes, groups and services as the console and the agents see them; heartbeat, registration, staleness. */
export function createFleetService(deps: {
  db: Database;
  pool: pg.Pool;
  clock: Clock;
  events: EventBus;
  logger: Logger;
  audit: AuditRecorder;
  staleMs: number;
  licenses: Pick<LicenseGuard, 'maxServices'>;
}) {
  const { db, clock } = deps;
  const sql = sqlOf(deps.pool);

  const toNodeRecord = (
    n: { id: string; operatorVersion: string | null; lastHeartbeatAt: Date | null; lastReportAt: Date | null; watchedServices: number; healthyServices: number; unhealthyServices: number },
    now: number,
  ): NodeRecord => ({
    id: n.id,
    operatorVersion: n.operatorVersion,
    lastHeartbeatAt: n.lastHeartbeatAt,
    lastReportAt: n.lastReportAt,
    status: nodeStatus(n.lastHeartbeatAt?.getTime() ?? null, n.lastReportAt?.getTime() ?? null, now, deps.staleMs),
    watchedServices: n.watchedServices,
    healthyServices: n.healthyServices,
    unhealthyServices: n.unhealthyServices,
  });

  return {
    async heartbeat(input: { nodeId: string; version?: string; watchedServices?: number; healthyServices?: number; unhealthyServices?: number }): Promise<void> {
      const now = clock.now();
      await db.node.upsert({
        where: { id: input.nodeId },
        create: {
          id: input.nodeId,
          operatorVersion: input.version,
          lastHeartbeatAt: now,
          watchedServices: input.watchedServices ?? 0,
          healthyServices: input.healthyServices ?? 0,
          unhealthyServices: input.unhealthyServices ?? 0,
        },
        update: {
          operatorVersion: input.version,
          lastHeartbeatAt: now,
          watchedServices: input.watchedServices,
          healthyServices: input.healthyServices,
          unhealthyServices: input.unhealthyServices,
        },
      });
    },

    /** A service from the agent's it-ops.yaml; answers whether it was new. */
    async register(
      input: {
        name: string;
        nodeId: string;
        displayName?: string | null;
        namespace?: string | null;
        criticality?: string | null;
        backup?: { expected: boolean; maxAgeDays: number; minSizeBytes?: number | null; minDurationSeconds?: number | null; maxVerifiedAgeDays?: number | null };
      },
      actor: AuditActor,
    ): Promise<{ created: boolean; service: ServiceRecord }> {
      const now = clock.now();
      const maxServices = await deps.licenses.maxServices();
      return db.$transaction(async (tx) => {
        // The node lock first, as status reports take it (they merge left-out fields with the stored
        // row under it, so a registration must not change that row beside them), then the capacity lock.
        await sqlOf(tx).query(`SELECT 1 FROM ${nodeLock('$1::text')} AS locked`, [input.nodeId]);
        if (maxServices !== null) {
          const { refused } = await admitServices(sqlOf(tx), input.nodeId, [input.name], maxServices);
          if (refused.length) throw capacityError(maxServices, refused);
        }
        await tx.node.upsert({ where: { id: input.nodeId }, create: { id: input.nodeId }, update: {} });
        const existing = await tx.service.findUnique({ where: { nodeId_name: { nodeId: input.nodeId, name: input.name } } });
        const data = {
          displayName: input.displayName,
          namespace: input.namespace,
          criticality: input.criticality,
          backupExpected: input.backup?.expected,
          backupMaxAgeDays: input.backup?.maxAgeDays,
          // Left out: kept as stored; null: cleared.
          minBackupSizeBytes: input.backup?.minSizeBytes === undefined ? undefined : input.backup.minSizeBytes === null ? null : BigInt(input.backup.minSizeBytes),
          minBackupDurationSeconds: input.backup?.minDurationSeconds,
          maxVerifiedAgeDays: input.backup?.maxVerifiedAgeDays,
        };
        const saved = await tx.service.upsert({
          where: { nodeId_name: { nodeId: input.nodeId, name: input.name } },
          create: { nodeId: input.nodeId, name: input.name, ...data },
          update: data,
        });
        const [row] = await sqlOf(tx).query<ServiceRow>(
          `UPDATE "Service" SET "backupOverdue" = ${backupOverdueSql('$2')} WHERE id = $1::uuid RETURNING ${SERVICE_COLUMNS.join(', ')}`,
          [saved.id, now],
        );
        const service = toServiceRecord(row!);
        const before = existing ? toServiceRecord(existing) : null;
        // Agents register again at every start; a registration that changes nothing is not an audit entry.
        if (!before || canonicalJson(before) !== canonicalJson(service)) {
          await deps.audit.record(tx, actor, { action: before ? 'service.update' : 'service.create', resourceType: 'service', resourceId: service.id, before, after: service });
        }
        return { created: !existing, service };
      });
    },

    async agentServices(nodeId: string) {
      const services = await db.service.findMany({ where: { nodeId }, include: { slaGroup: { select: { name: true } } }, orderBy: { name: 'asc' } });
      return services.map((s) => ({
        name: s.name,
        displayName: s.displayName,
        namespace: s.namespace,
        criticality: s.criticality,
        slaGroup: s.slaGroup?.name ?? null,
        operations: {
          // The seed's two fields, and the optional bounds only where a service declared them.
          backup: {
            expected: s.backupExpected,
            maxAgeDays: s.backupMaxAgeDays,
            ...(s.minBackupSizeBytes !== null ? { minSizeBytes: Number(s.minBackupSizeBytes) } : {}),
            ...(s.minBackupDurationSeconds !== null ? { minDurationSeconds: s.minBackupDurationSeconds } : {}),
            ...(s.maxVerifiedAgeDays !== null ? { maxVerifiedAgeDays: s.maxVerifiedAgeDays } : {}),
          },
        },
      }));
    },

    /** Groups with their services in one statement, whatever their numbers. */
    async groups(ids?: string[]): Promise<GroupRecord[]> {
      const rows = await sql.query<ServiceRow & { g_id: string; g_name: string; g_display: string; g_tier: string; g_target: string | null }>(
        `SELECT g.id AS g_id, g.name AS g_name, g."displayName" AS g_display, g.tier AS g_tier, g."targetUptime" AS g_target,
                ${SERVICE_COLUMNS.map((c) => `s.${c}`).join(', ')}
         FROM "SlaGroup" g LEFT JOIN "Service" s ON s."slaGroupId" = g.id
         WHERE $1::uuid[] IS NULL OR g.id = ANY($1::uuid[])
         ORDER BY g.name, s."nodeId", s.name`,
        [ids ?? null],
      );
      const groups = new Map<string, GroupRecord>();
      for (const r of rows) {
        let g = groups.get(r.g_id);
        if (!g) {
          g = { ...toGroup({ id: r.g_id, name: r.g_name, displayName: r.g_display, tier: r.g_tier, targetUptime: r.g_target === null ? null : Number(r.g_target) }), services: [] };
          groups.set(r.g_id, g);
        }
        if (r.id) g.services.push(toServiceRecord(r));
      }
      return [...groups.values()];
    },

    async updateGroup(id: string, input: { displayName?: string | null; tier?: string | null; targetUptime?: number | null }, actor: AuditActor): Promise<GroupRecord> {
      assertUuid(id);
      const fields = { id: true, name: true, displayName: true, tier: true, targetUptime: true } as const;
      const plain = (g: { targetUptime: Prisma.Decimal | null } & Record<string, unknown>) => ({ ...g, targetUptime: g.targetUptime === null ? null : Number(g.targetUptime) });
      await db.$transaction(async (tx) => {
        const before = await tx.slaGroup.findUnique({ where: { id }, select: fields });
        if (!before) throw new AppError('NOT_FOUND', `no SLA group with id ${id}`, { field: 'id' });
        const after = await tx.slaGroup.update({
          where: { id },
          data: { displayName: input.displayName ?? undefined, tier: input.tier ?? undefined, targetUptime: input.targetUptime === undefined ? undefined : input.targetUptime },
          select: fields,
        });
        await deps.audit.record(tx, actor, { action: 'slagroup.update', resourceType: 'sla_group', resourceId: id, before: plain(before), after: plain(after) });
      });
      return this.group(id);
    },

    /** Removes a group that no service belongs to (a misspelt one, say), with its rollups and alert state. */
    async deleteGroup(id: string, actor: AuditActor): Promise<boolean> {
      assertUuid(id);
      await db.$transaction(async (tx) => {
        // FOR UPDATE: a report that would add a service to the group waits for this to end (the foreign key).
        const [group] = await sqlOf(tx).query<{ id: string; name: string; displayName: string; tier: string }>(
          `SELECT id, name, "displayName", tier FROM "SlaGroup" WHERE id = $1::uuid FOR UPDATE`,
          [id],
        );
        if (!group) throw new AppError('NOT_FOUND', `no SLA group with id ${id}`, { field: 'id' });
        const members = await tx.service.count({ where: { slaGroupId: id } });
        if (members) throw new AppError('CONFLICT', `SLA group "${group.name}" still has ${members} service${members === 1 ? '' : 's'}; move them first`, { field: 'id', services: members });
        await tx.slaRollup.deleteMany({ where: { subjectId: id } });
        await tx.slaRollupState.deleteMany({ where: { subjectId: id } });
        await tx.slaAlertState.deleteMany({ where: { subjectId: id } });
        await tx.slaGroup.delete({ where: { id } });
        await deps.audit.record(tx, actor, { action: 'slagroup.delete', resourceType: 'sla_group', resourceId: id, before: group, after: null });
      });
      return true;
    },

    async group(id: string): Promise<GroupRecord> {
      const [g] = await this.groups([assertUuid(id)]);
      if (!g) throw new AppError('NOT_FOUND', `no SLA group with id ${id}`, { field: 'id' });
      return g;
    },

    async services(filter: ServiceFilter | null | undefined, page: PageRequest | null | undefined): Promise<Page<ServiceRecord>> {
      const p = resolvePage(page, ['name', 'lastSeenAt', 'status', 'nodeId'] as const, 'name', 'asc');
      const where: Prisma.ServiceWhereInput = {
        ...(filter?.nodeId ? { nodeId: filter.nodeId } : {}),
        ...(filter?.slaGroupId ? { slaGroupId: assertUuid(filter.slaGroupId, 'filter.slaGroupId') } : {}),
        ...(filter?.status ? { status: filter.status } : {}),
        ...(filter?.namespace ? { namespace: filter.namespace } : {}),
        ...(filter?.name ? { name: filter.name } : {}),
        ...(filter?.search
          ? { OR: (['name', 'displayName', 'namespace'] as const).map((f) => ({ [f]: { contains: literal(filter.search!), mode: 'insensitive' as const } })) }
          : {}),
      };
      const [items, total] = await db.$transaction([
        db.service.findMany({ where, orderBy: [{ [p.sort]: p.order }, { nodeId: 'asc' }, { id: 'asc' }], skip: p.skip, take: p.take }),
        db.service.count({ where }),
      ]);
      return { items: items.map(toServiceRecord), pageInfo: pageInfo(total, p.page, p.limit) };
    },

    async incidents(filter: { serviceId?: string | null; slaGroupId?: string | null; open?: boolean | null } | null | undefined, page: PageRequest | null | undefined): Promise<Page<IncidentRecord>> {
      const p = resolvePage(page, ['startedAt', 'endedAt'] as const, 'startedAt');
      const where: Prisma.IncidentWhereInput = {
        ...(filter?.serviceId ? { serviceId: assertUuid(filter.serviceId, 'filter.serviceId') } : {}),
        ...(filter?.slaGroupId ? { service: { slaGroupId: assertUuid(filter.slaGroupId, 'filter.slaGroupId') } } : {}),
        ...(filter?.open === true ? { endedAt: null } : filter?.open === false ? { endedAt: { not: null } } : {}),
      };
      const [rows, total] = await db.$transaction([
        db.incident.findMany({ where, include: { service: { select: { slaGroupId: true } } }, orderBy: [{ [p.sort]: p.order }, { id: 'asc' }], skip: p.skip, take: p.take }),
        db.incident.count({ where }),
      ]);
      const items = rows.map((r) => ({ id: r.id, serviceId: r.serviceId, slaGroupId: r.service.slaGroupId, startedAt: r.startedAt, endedAt: r.endedAt }));
      return { items, pageInfo: pageInfo(total, p.page, p.limit) };
    },

    /** For other modules' links and checks: whether a service or an incident exists, and what names a service. */
    async serviceExists(id: string): Promise<boolean> {
      return (await db.service.count({ where: { id } })) > 0;
    },

    async incidentExists(id: string): Promise<boolean> {
      return (await db.incident.count({ where: { id } })) > 0;
    },

    /** How many services are in each status now, and how many incidents are open: for the Prometheus gauges. */
    async statusCounts(): Promise<{ services: { status: ServiceStatus; count: number }[]; openIncidents: number }> {
      const [byStatus, openIncidents] = await Promise.all([db.service.groupBy({ by: ['status'], _count: { _all: true } }), db.incident.count({ where: { endedAt: null } })]);
      return { services: byStatus.map((r) => ({ status: r.status, count: r._count._all })), openIncidents };
    },

    /** Whether the incident is open now; false once it closed, and for one a late report revised away. */
    async incidentIsOpen(id: string): Promise<boolean> {
      return (await db.incident.count({ where: { id, endedAt: null } })) > 0;
    },

    /** The service an incident is about and its group, as a ticket names them. */
    async incidentSubject(incident: { serviceId: string; slaGroupId: string | null }): Promise<{
      service: { id: string; name: string; nodeId: string } | null;
      group: { tier: string; displayName: string } | null;
    }> {
      const [service, group] = await Promise.all([
        db.service.findUnique({ where: { id: incident.serviceId }, select: { id: true, name: true, nodeId: true } }),
        incident.slaGroupId ? db.slaGroup.findUnique({ where: { id: incident.slaGroupId }, select: { tier: true, displayName: true } }) : null,
      ]);
      return { service, group };
    },

    async service(id: string): Promise<ServiceRecord> {
      const s = await db.service.findUnique({ where: { id: assertUuid(id) } });
      if (!s) throw new AppError('NOT_FOUND', `no service with id ${id}`, { field: 'id' });
      return toServiceRecord(s);
    },

    async nodes(): Promise<NodeRecord[]> {
      const now = clock.now().getTime();
      const nodes = await db.node.findMany({ orderBy: { id: 'asc' } });
      return nodes.map((n) => toNodeRecord(n, now));
    },

    /** The links' reads (sla.loaders.ts): one statement for any number of ids. */
    async nodesByIds(ids: readonly string[]): Promise<Map<string, NodeRecord>> {
      const now = clock.now().getTime();
      const nodes = await db.node.findMany({ where: { id: { in: [...ids] } } });
      return new Map(nodes.map((n) => [n.id, toNodeRecord(n, now)]));
    },

    async servicesByIds(ids: readonly string[]): Promise<Map<string, ServiceRecord>> {
      const rows = await db.service.findMany({ where: { id: { in: [...ids] } } });
      return new Map(rows.map((r) => [r.id, toServiceRecord(r)]));
    },

    /**
     * The newest incidents of each group (of its current members, as `incidents(filter: { slaGroupId })`
     * counts them): one statement per distinct `open`/`limit` asked, whatever the number of groups.
     */
    async groupIncidents(keys: readonly GroupIncidentsKey[]): Promise<IncidentRecord[][]> {
      const out = keys.map((): IncidentRecord[] => []);
      const asks = new Map<string, { open: boolean | null; limit: number; slots: Map<string, number[]> }>();
      keys.forEach((k, i) => {
        const ask = `${k.open}|${k.limit}`;
        if (!asks.has(ask)) asks.set(ask, { open: k.open, limit: k.limit, slots: new Map() });
        const { slots } = asks.get(ask)!;
        slots.set(k.groupId, [...(slots.get(k.groupId) ?? []), i]);
      });
      await Promise.all(
        [...asks.values()].map(async ({ open, limit, slots }) => {
          const rows = await sql.query<IncidentRecord & { slaGroupId: string }>({
            name: 'opsgraph.links.group-incidents',
            text: `SELECT g.id AS "slaGroupId", i.id, i."serviceId", i."startedAt", i."endedAt"
             FROM unnest($1::uuid[]) AS g(id)
             CROSS JOIN LATERAL (
               SELECT i.id, i."serviceId", i."startedAt", i."endedAt" FROM "Incident" i JOIN "Service" s ON s.id = i."serviceId"
               WHERE s."slaGroupId" = g.id AND ($2::boolean IS NULL OR (i."endedAt" IS NULL) = $2)
               ORDER BY i."startedAt" DESC, i.id LIMIT $3) i
             ORDER BY g.id, i."startedAt" DESC, i.id`,
            values: [[...slots.keys()], open, limit],
          });
          for (const r of rows) for (const i of slots.get(r.slaGroupId)!) out[i]!.push(r);
        }),
      );
      return out;
    },

    /**
     * Marks services whose newest report is older than the stale limit UNKNOWN,
     * with the history row at the exact instant they went stale. Skips nodes
     * whose report is being applied right now; they are taken at the next sweep.
     * Incidents are not touched (UNKNOWN neither opens nor closes one), so nothing goes to the
     * outbox: the status changes are for live subscribers only.
     */
    async sweepStale(): Promise<number> {
      const now = clock.now();
      const rows = await sql.query<ServiceRow & { prev_status: ServiceStatus }>(
        `WITH stale AS (
           SELECT id, status AS prev_status, "lastSeenAt" AS seen FROM "Service"
           WHERE status <> 'UNKNOWN' AND "lastSeenAt" < $1::timestamptz - make_interval(secs => $2 / 1000.0)
             AND ${tryNodeLock('"nodeId"')}
           FOR UPDATE SKIP LOCKED),
         marked AS (
           INSERT INTO "StatusChange" ("serviceId", at, status, "receivedAt")
           SELECT id, seen + make_interval(secs => $2 / 1000.0), 'UNKNOWN', $1 FROM stale
           ON CONFLICT ("serviceId", at) DO NOTHING)
         UPDATE "Service" s SET status = 'UNKNOWN', "updatedAt" = $1 FROM stale WHERE s.id = stale.id
         RETURNING ${SERVICE_COLUMNS.map((c) => `s.${c}`).join(', ')}, stale.prev_status`,
        [now, deps.staleMs],
      );
      await deps.events.publish(
        STATUS_CHANGED,
        rows.map(
          (r): StatusChangedEvent => ({
            service: toServiceRecord(r),
            previousStatus: r.prev_status,
            status: 'UNKNOWN',
            observedAt: new Date(r.lastSeenAt!.getTime() + deps.staleMs),
          }),
        ),
      );
      return rows.length;
    },

    /**
     * What has gone silent, for the alerts: every node with whether it is ONLINE (a heartbeat or a
     * report within the stale limit), and every service that reported once and is UNKNOWN now.
     * One statement, whatever the size of the fleet.
     */
    async silence(): Promise<{ nodes: { id: string; status: 'ONLINE' | 'OFFLINE'; lastSignAt: Date | null; services: number }[]; staleServices: { id: string; name: string; nodeId: string; lastSeenAt: Date }[] }> {
      const now = clock.now().getTime();
      const rows = await sql.query<{ id: string; lastHeartbeatAt: Date | null; lastReportAt: Date | null; stale: { id: string; name: string; lastSeenAt: string }[]; services: number }>(
        `SELECT n.id, n."lastHeartbeatAt", n."lastReportAt", count(s.id)::int AS services,
                COALESCE(json_agg(json_build_object('id', s.id, 'name', s.name, 'lastSeenAt', s."lastSeenAt"))
                  FILTER (WHERE s.status = 'UNKNOWN' AND s."lastSeenAt" IS NOT NULL), '[]') AS stale
         FROM "Node" n LEFT JOIN "Service" s ON s."nodeId" = n.id GROUP BY n.id ORDER BY n.id`,
      );
      return {
        nodes: rows.map((r) => {
          const last = Math.max(r.lastHeartbeatAt?.getTime() ?? -Infinity, r.lastReportAt?.getTime() ?? -Infinity);
          return {
            id: r.id,
            status: nodeStatus(r.lastHeartbeatAt?.getTime() ?? null, r.lastReportAt?.getTime() ?? null, now, deps.staleMs),
            lastSignAt: Number.isFinite(last) ? new Date(last) : null,
            services: r.services,
          };
        }),
        staleServices: rows.flatMap((r) => r.stale.map((s) => ({ id: s.id, name: s.name, nodeId: r.id, lastSeenAt: new Date(s.lastSeenAt) }))),
      };
    },

    /**
     * Drops kept reports that no accepted report can be merged with any more: older than the
     * replay window plus the stale limit (a late report's context), plus an hour of margin.
     */
    /**
     * Fleet coverage for the ops console: services registered, reporting within the stale window,
     * reporting and up, reporting and in MAINTENANCE (see lib/ops-console.ts).
     */
    async coverage(): Promise<FleetCoverage> {
      const [row] = await sql.query<{ expected: number; active: number; matched: number; ignored: number }>({
        name: 'opsgraph.fleet.coverage',
        text: `SELECT count(*)::int AS expected,
                 count(*) FILTER (WHERE fresh)::int AS active,
                 count(*) FILTER (WHERE fresh AND status IN ('OPERATIONAL', 'DEGRADED'))::int AS matched,
                 count(*) FILTER (WHERE fresh AND status = 'MAINTENANCE')::int AS ignored
               FROM (SELECT status, "lastSeenAt" >= $1::timestamptz - make_interval(secs => $2 / 1000.0) AS fresh FROM "Service") s`,
        values: [clock.now(), deps.staleMs],
      });
      return { expected: row!.expected, active: row!.active, matched: row!.matched, ignored: row!.ignored };
    },

    /**
     * Service statuses received per second over the `windowSeconds` before now, by their
     * `observedAt`, from the kept reports (seconds without any left out): the same figures
     * whichever instance took them.
     */
    async statusesPerSecond(windowSeconds: number): Promise<{ second: number; n: number }[]> {
      return sql.query<{ second: number; n: number }>({
        name: 'opsgraph.fleet.statuses-per-second',
        text: `SELECT (extract(epoch FROM date_trunc('second', "observedAt")) * 1000)::float8 AS second, count(*)::int AS n FROM "StatusObservation"
                WHERE "observedAt" > $1::timestamptz - make_interval(secs => $2) AND "observedAt" <= $1::timestamptz
                GROUP BY 1`,
        values: [clock.now(), windowSeconds],
      });
    },

    async pruneObservations(replayHours: number): Promise<number> {
      const cutoff = new Date(clock.now().getTime() - (replayHours + 1) * 3_600_000 - deps.staleMs);
      return sql.execute(`DELETE FROM "StatusObservation" WHERE "observedAt" < $1`, [cutoff]);
    },
  };
}

export type FleetService = ReturnType<typeof createFleetService>;
