import type pg from 'pg';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/prisma.js';
import { AppError } from '../../lib/errors.js';
import { assertUuid } from '../../lib/ids.js';
import { bucketStart, buckets, durations, durationsPerRange, groupTimeline, nextBucket, incidents, periodStatus, timeline, uptime, type Durations, type PeriodStatus, type Segment } from '../../lib/sla.js';
import { TIER_TARGETS, targetUptime } from '../../lib/sla-targets.js';
import type { ServiceStatus } from '../../lib/status-history.js';
import { historySince } from './sla.history.js';

export type PeriodType = 'FIVE_MINUTES' | 'DAY' | 'MONTH';

export interface SlaPeriod {
  periodKey: string;
  periodStart: Date;
  actualValue: number | null;
  targetValue: number;
  incidentCount: number;
  downtimeMinutes: number;
  status: PeriodStatus;
}

const DAY_MS = 86_400_000;

/** The current UTC month so far, the month's full length (the budget's base), and the 30-day window. */
function windows(now: number) {
  const monthStart = bucketStart(now, 'MONTH');
  return { month: { from: monthStart, to: now }, monthMs: nextBucket(monthStart, 'MONTH') - monthStart, last30: { from: now - 30 * DAY_MS, to: now } };
}
const KEY_LENGTH: Record<PeriodType, number> = { FIVE_MINUTES: 16, DAY: 10, MONTH: 7 };
const periodKey = (start: number, type: PeriodType) => new Date(start).toISOString().slice(0, KEY_LENGTH[type]);

interface Subject {
  id: string;
  groupId: string | null;
  lastSeen: number | null;
}

/**
 * SLA numbers computed from the status history, exact to the second: the
 * timeline of each service comes from its change points (lib/sla.ts), with the
 * staleness of its newest report applied up to now.
 */
export function createSlaEngine(deps: { db: Database; pool: pg.Pool; clock: Clock; staleMs: number }) {
  /**
   * Timelines of `subjects` from `from` to `to`. History is read from the last UP change at or
   * before `from` (or the first change): an incident can only have started after it, so the
   * incidents of the range are known exactly.
   */
  async function timelines(subjects: readonly Subject[], from: number, to: number): Promise<Map<string, { segments: Segment[]; start: number }>> {
    const changes = await historySince(deps.pool, subjects.map((s) => s.id), new Date(from), new Date(to));
    const out = new Map<string, { segments: Segment[]; start: number }>();
    for (const s of subjects) {
      const list = changes.get(s.id)!;
      const start = Math.min(from, list[0]?.at ?? from);
      out.set(s.id, { segments: timeline(list, { from: start, to }, { lastSeen: s.lastSeen, staleMs: deps.staleMs }), start });
    }
    return out;
  }

  async function loadServices(where: { serviceId?: string; groupId?: string; grouped?: boolean }): Promise<(Subject & { target: number })[]> {
    const services = await deps.db.service.findMany({
      where: {
        ...(where.serviceId ? { id: where.serviceId } : {}),
        ...(where.groupId ? { slaGroupId: where.groupId } : {}),
        ...(where.grouped ? { slaGroupId: { not: null } } : {}),
      },
      select: { id: true, slaGroupId: true, lastSeenAt: true, slaGroup: { select: { tier: true, targetUptime: true } } },
    });
    return services.map((s) => ({
      id: s.id,
      groupId: s.slaGroupId,
      lastSeen: s.lastSeenAt?.getTime() ?? null,
      target: s.slaGroup ? targetUptime({ tier: s.slaGroup.tier, targetUptime: s.slaGroup.targetUptime === null ? null : Number(s.slaGroup.targetUptime) }) : TIER_TARGETS.standard,
    }));
  }

  function period(start: number, end: number, type: PeriodType, d: Durations, incidentCount: number, target: number): SlaPeriod {
    return {
      periodKey: periodKey(start, type),
      periodStart: new Date(start),
      actualValue: uptime(d),
      targetValue: target,
      incidentCount,
      downtimeMinutes: d.downMs / 60_000,
      status: periodStatus(d, end - start, target).status,
    };
  }

  /** Per-period rows for one availability series (a service, a group, or the sum of services). */
  function periods(series: { perRange: (ranges: { from: number; to: number }[]) => Durations[]; incidentStarts: number[] }, range: { from: number; to: number }, type: PeriodType, target: number, now: number): SlaPeriod[] {
    const all = buckets(range, type);
    const measured = series.perRange(all.map((b) => ({ from: b.from, to: Math.min(b.to, now) })));
    return all.map((b, i) => {
      const count = series.incidentStarts.filter((t) => t >= b.from && t < b.to).length;
      return period(b.from, b.to, type, measured[i]!, count, target);
    });
  }

  const serviceSeries = (segments: Segment[]) => ({
    perRange: (ranges: { from: number; to: number }[]) => durationsPerRange(segments, ranges),
    incidentStarts: incidents(segments).map((i) => i.startedAt),
  });

  function groupSeries(members: Segment[][], range: { from: number; to: number }) {
    const g = groupTimeline(members, range).map((s) => ({ from: s.from, to: s.to, status: (s.state === 'UP' ? 'OPERATIONAL' : s.state === 'DOWN' ? 'MAJOR_OUTAGE' : null) as ServiceStatus | null }));
    return { ...serviceSeries(g), durations: (r: { from: number; to: number }) => durations(g, r) };
  }

  return {
    async snapshotTrend(serviceId: string, hoursBack: number): Promise<SlaPeriod[]> {
      const [service] = await loadServices({ serviceId: assertUuid(serviceId, 'serviceId') });
      if (!service) throw new AppError('NOT_FOUND', `no service with id ${serviceId}`, { field: 'serviceId' });
      const now = deps.clock.now().getTime();
      const range = { from: bucketStart(now - hoursBack * 3_600_000, 'FIVE_MINUTES'), to: now };
      const { segments } = (await timelines([service], range.from, now)).get(service.id)!;
      return periods(serviceSeries(segments), { from: range.from, to: now + 1 }, 'FIVE_MINUTES', service.target, now);
    },

    async trendData(filter: { periodType: 'DAILY' | 'MONTHLY'; monthsBack: number; serviceId?: string | null; slaGroupId?: string | null }): Promise<SlaPeriod[]> {
      const type: PeriodType = filter.periodType === 'DAILY' ? 'DAY' : 'MONTH';
      const now = deps.clock.now().getTime();
      const d = new Date(now);
      const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - filter.monthsBack, type === 'DAY' ? d.getUTCDate() : 1);
      const range = { from, to: now + 1 };
      if (filter.serviceId) {
        const [service] = await loadServices({ serviceId: assertUuid(filter.serviceId, 'filter.serviceId') });
        if (!service) throw new AppError('NOT_FOUND', `no service with id ${filter.serviceId}`, { field: 'filter.serviceId' });
        const { segments } = (await timelines([service], from, now)).get(service.id)!;
        return periods(serviceSeries(segments), range, type, service.target, now);
      }
      if (filter.slaGroupId) {
        const group = await deps.db.slaGroup.findUnique({ where: { id: assertUuid(filter.slaGroupId, 'filter.slaGroupId') } });
        if (!group) throw new AppError('NOT_FOUND', `no SLA group with id ${filter.slaGroupId}`, { field: 'filter.slaGroupId' });
        const members = await loadServices({ groupId: group.id });
        const tl = await timelines(members, from, now);
        const target = targetUptime({ tier: group.tier, targetUptime: group.targetUptime === null ? null : Number(group.targetUptime) });
        return periods(groupSeries([...tl.values()].map((t) => t.segments), { from: Math.min(from, ...[...tl.values()].map((t) => t.start)), to: now }), range, type, target, now);
      }
      // Every service that belongs to a group, pooled: their up and down time add up.
      const services = await loadServices({ grouped: true });
      const tl = [...(await timelines(services, from, now)).values()];
      const target = services.length ? Math.min(...services.map((s) => s.target)) : TIER_TARGETS.standard;
      const pooled = {
        perRange: (ranges: { from: number; to: number }[]) => {
          const sum = ranges.map(() => ({ upMs: 0, downMs: 0 }));
          for (const t of tl) {
            durationsPerRange(t.segments, ranges).forEach((d, i) => {
              sum[i]!.upMs += d.upMs;
              sum[i]!.downMs += d.downMs;
            });
          }
          return sum;
        },
        incidentStarts: tl.flatMap((t) => incidents(t.segments).map((i) => i.startedAt)),
      };
      return periods(pooled, range, type, target, now);
    },

    /** `status` (current UTC month) and `currentUptime` (last 30 days) of groups. */
    /** Groups as the caller already loaded them, services and their newest report included: no second read. */
    async groupNumbers(groups: { id: string; targetUptime: number; services: { id: string; lastSeenAt: Date | null }[] }[]): Promise<Map<string, { status: PeriodStatus; currentUptime: number | null }>> {
      const now = deps.clock.now().getTime();
      const w = windows(now);
      const from = Math.min(w.month.from, w.last30.from);
      const subjects = groups.flatMap((g) => g.services.map((s) => ({ id: s.id, groupId: g.id, lastSeen: s.lastSeenAt?.getTime() ?? null })));
      const tl = await timelines(subjects, from, now);
      const out = new Map<string, { status: PeriodStatus; currentUptime: number | null }>();
      for (const g of groups) {
        const series = groupSeries(g.services.map((s) => tl.get(s.id)!.segments), { from, to: now });
        out.set(g.id, {
          status: periodStatus(series.durations(w.month), w.monthMs, g.targetUptime).status,
          currentUptime: uptime(series.durations(w.last30)),
        });
      }
      return out;
    },

    /**
     * The current month's status of every service in a group and of every group, with what
     * an alert needs to say (names, budget used).
     */
    async monthStatuses(): Promise<{ scope: 'SERVICE' | 'GROUP'; id: string; serviceId: string | null; slaGroupId: string | null; name: string; status: PeriodStatus; consumedMinutes: number; allowedMinutes: number }[]> {
      const now = deps.clock.now().getTime();
      const w = windows(now);
      const [services, groups] = await Promise.all([
        deps.db.service.findMany({ where: { slaGroupId: { not: null } }, select: { id: true, name: true, nodeId: true, slaGroupId: true, lastSeenAt: true } }),
        deps.db.slaGroup.findMany({ select: { id: true, name: true, tier: true, targetUptime: true } }),
      ]);
      const targets = new Map(groups.map((g) => [g.id, targetUptime({ tier: g.tier, targetUptime: g.targetUptime === null ? null : Number(g.targetUptime) })]));
      const tl = await timelines(services.map((s) => ({ id: s.id, groupId: s.slaGroupId, lastSeen: s.lastSeenAt?.getTime() ?? null })), w.month.from, now);
      const month = w.month;
      const describe = (d: Durations, target: number) => {
        const p = periodStatus(d, w.monthMs, target);
        return { status: p.status, consumedMinutes: p.consumedMs / 60_000, allowedMinutes: p.allowedMs / 60_000 };
      };
      const out: Awaited<ReturnType<typeof this.monthStatuses>> = services.map((s) => ({
        scope: 'SERVICE' as const,
        id: s.id,
        serviceId: s.id,
        slaGroupId: s.slaGroupId,
        name: `${s.name} on ${s.nodeId}`,
        ...describe(durations(tl.get(s.id)!.segments, month), targets.get(s.slaGroupId!)!),
      }));
      for (const g of groups) {
        const members = services.filter((s) => s.slaGroupId === g.id).map((s) => tl.get(s.id)!.segments);
        out.push({ scope: 'GROUP', id: g.id, serviceId: null, slaGroupId: g.id, name: g.name, ...describe(groupSeries(members, month).durations(month), targets.get(g.id)!) });
      }
      return out;
    },

    async dashboardStats(): Promise<{ totalServices: number; servicesWithSla: number; metCount: number; atRiskCount: number; breachedCount: number; averageUptime: number | null }> {
      const now = deps.clock.now().getTime();
      const w = windows(now);
      const from = Math.min(w.month.from, w.last30.from);
      const [totalServices, services] = await Promise.all([deps.db.service.count(), loadServices({ grouped: true })]);
      const tl = await timelines(services, from, now);
      let met = 0;
      let atRisk = 0;
      let breached = 0;
      const uptimes: number[] = [];
      for (const s of services) {
        const segments = tl.get(s.id)!.segments;
        const status = periodStatus(durations(segments, w.month), w.monthMs, s.target).status;
        if (status === 'MET') met++;
        else if (status === 'AT_RISK') atRisk++;
        else if (status === 'BREACHED') breached++;
        const u = uptime(durations(segments, w.last30));
        if (u !== null) uptimes.push(u);
      }
      return {
        totalServices,
        servicesWithSla: services.length,
        metCount: met,
        atRiskCount: atRisk,
        breachedCount: breached,
        averageUptime: uptimes.length ? uptimes.reduce((a, b) => a + b, 0) / uptimes.length : null,
      };
    },
  };
}

export type SlaEngine = ReturnType<typeof createSlaEngine>;
