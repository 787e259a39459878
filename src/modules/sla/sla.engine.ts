import type pg from 'pg';
import { sqlOf } from '../../infra/sql.js';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/prisma.js';
import { AppError } from '../../lib/errors.js';
import { assertUuid } from '../../lib/ids.js';
import { addTotals, bucketStart, buckets, DAY_MS, mergeRanges, nextBucket, partition, periodStatus, splitStored, uptime, zeroTotals, type PeriodStatus, type Totals } from '../../lib/sla.js';
import { TIER_TARGETS, targetUptime } from '../../lib/sla-targets.js';
import { membersOf, timelinesFromHistory, totalsFromHistory, totalsOf, type MeasuredSubject, type Timelines } from './sla.history.js';
import { membersHash, rollupStates, storedTotals } from './sla.rollups.js';

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

const FROZEN_DAYS_KEPT = 3;

/** The current UTC month so far, the month's full length (the budget's base), and the 30-day window. */
function windows(now: number) {
  const monthStart = bucketStart(now, 'MONTH');
  return { month: { from: monthStart, to: now }, monthMs: nextBucket(monthStart, 'MONTH') - monthStart, last30: { from: now - 30 * DAY_MS, to: now } };
}
const KEY_LENGTH: Record<PeriodType, number> = { FIVE_MINUTES: 16, DAY: 10, MONTH: 7 };
const periodKey = (start: number, type: PeriodType) => new Date(start).toISOString().slice(0, KEY_LENGTH[type]);

type Range = { from: number; to: number };

/** A subject as the engine measures it: rollups usable for the days before `validUntil` (null: none). */
interface Measured extends MeasuredSubject {
  validUntil: number | null;
}

const targetOf = (g: { tier: string; targetUptime: unknown } | null) =>
  g ? targetUptime({ tier: g.tier, targetUptime: g.targetUptime === null ? null : Number(g.targetUptime) }) : TIER_TARGETS.standard;

/**
 * SLA numbers exact to the second: whole closed days come from the daily rollups the `sla.materialize`
 * job keeps (sla.rollups.ts), the rest (today, a range starting mid-day, days a late report re-opened)
 * from the status history, through the same pure timeline math (lib/sla.ts).
 */
export function createSlaEngine(deps: { db: Database; pool: pg.Pool; clock: Clock; staleMs: number; frozenMs: number }) {
  const sql = sqlOf(deps.pool);
  /**
   * The history of a whole UTC day that ended more than `frozenMs` ago (the replay window, staleness
   * and a sweep) can no longer change: no report may land there. Its timelines are kept per instance
   * (the last few days asked for), so the partial first day of a 30-day window is read once a day.
   */
  const frozenDays = new Map<number, Timelines>();
  async function frozenTimelines(day: number, members: ReadonlyMap<string, number | null>): Promise<Timelines> {
    let cached = frozenDays.get(day);
    if (!cached) {
      cached = new Map();
      frozenDays.set(day, cached);
      for (const old of [...frozenDays.keys()].slice(0, -FROZEN_DAYS_KEPT)) frozenDays.delete(old);
    }
    const missing = new Map([...members].filter(([id]) => !cached.has(id)));
    if (missing.size) for (const [id, t] of await timelinesFromHistory(sql, deps.staleMs, missing, { from: day, to: day + DAY_MS })) cached.set(id, t);
    return cached;
  }

  /** Totals of one live stretch: from the frozen-day timelines when it lies in one frozen day, else from history. */
  async function liveTotals(subjects: readonly Measured[], piece: Range, ranges: readonly Range[], now: number): Promise<Map<string, Totals[]>> {
    const day = bucketStart(piece.from, 'DAY');
    if (piece.to <= day + DAY_MS && day + DAY_MS <= now - deps.frozenMs) return totalsOf(subjects, await frozenTimelines(day, membersOf(subjects)), piece, ranges);
    return totalsFromHistory(sql, deps.staleMs, subjects, piece, ranges);
  }

  /**
   * Totals of each subject in each of `ranges` (sorted, not overlapping); `pooled` adds the subjects
   * up under the key '*'. One read of the rollups, and one read of history per distinct live stretch
   * (usually one: today).
   */
  async function measure(subjects: readonly Measured[], ranges: readonly Range[], pooled = false): Promise<Map<string, Totals[]>> {
    const now = deps.clock.now().getTime();
    const stretches = new Map<string, { piece: Range; subjects: Measured[] }>();
    for (const s of subjects) {
      for (const piece of mergeRanges(ranges.flatMap((r) => splitStored(r, s.validUntil).live))) {
        const key = `${piece.from}:${piece.to}`;
        if (!stretches.has(key)) stretches.set(key, { piece, subjects: [] });
        stretches.get(key)!.subjects.push(s);
      }
    }
    const withRollups = subjects.flatMap((s) => (s.validUntil === null ? [] : [{ id: s.id, validUntil: s.validUntil }]));
    const [stored, ...live] = await Promise.all([
      storedTotals(sql, withRollups, ranges, pooled),
      ...[...stretches.values()].map((x) => liveTotals(x.subjects, x.piece, ranges, now)),
    ]);
    const out = new Map((pooled ? ['*'] : subjects.map((s) => s.id)).map((key) => [key, ranges.map(() => zeroTotals())]));
    const add = (key: string, totals: readonly Totals[]) => out.get(pooled ? '*' : key)!.forEach((t, i) => addTotals(t, totals[i]!));
    for (const [key, totals] of stored) add(key, totals);
    for (const part of live) for (const [id, totals] of part) add(id, totals);
    return out;
  }

  /** Services with their target and how far their rollups go, in one statement. */
  async function loadServices(where: { serviceId?: string; groupId?: string; grouped?: boolean }): Promise<(Measured & { groupId: string | null; target: number })[]> {
    const rows = await sql.query<{ id: string; slaGroupId: string | null; lastSeenAt: Date | null; tier: string | null; targetUptime: string | null; validUntil: Date | null }>(
      `SELECT s.id, s."slaGroupId", s."lastSeenAt", g.tier, g."targetUptime", r."validUntil"
       FROM "Service" s LEFT JOIN "SlaGroup" g ON g.id = s."slaGroupId" LEFT JOIN "SlaRollupState" r ON r."subjectId" = s.id
       WHERE ($1::uuid IS NULL OR s.id = $1) AND ($2::uuid IS NULL OR s."slaGroupId" = $2) AND (NOT $3 OR s."slaGroupId" IS NOT NULL)
       ORDER BY s.id`,
      [where.serviceId ?? null, where.groupId ?? null, where.grouped ?? false],
    );
    return rows.map((s) => ({
      id: s.id,
      group: false,
      members: [{ id: s.id, lastSeen: s.lastSeenAt?.getTime() ?? null }],
      validUntil: s.validUntil?.getTime() ?? null,
      groupId: s.slaGroupId,
      target: targetOf(s.tier === null ? null : { tier: s.tier, targetUptime: s.targetUptime }),
    }));
  }

  /** Groups as subjects; rollups computed from other members than the group has now are not used. */
  async function groupSubjects(groups: readonly { id: string; services: readonly { id: string; lastSeenAt: Date | null }[] }[]): Promise<Measured[]> {
    const states = await rollupStates(sql, groups.map((g) => g.id));
    return groups.map((g) => {
      const state = states.get(g.id);
      const sameMembers = state?.membersHash === membersHash(g.services.map((s) => s.id));
      return {
        id: g.id,
        group: true,
        members: g.services.map((s) => ({ id: s.id, lastSeen: s.lastSeenAt?.getTime() ?? null })),
        validUntil: state && sameMembers ? state.validUntil : null,
      };
    });
  }

  function period(range: Range, type: PeriodType, t: Totals, target: number): SlaPeriod {
    return {
      periodKey: periodKey(range.from, type),
      periodStart: new Date(range.from),
      actualValue: uptime(t),
      targetValue: target,
      incidentCount: t.incidents,
      downtimeMinutes: t.downMs / 60_000,
      status: periodStatus(t, range.to - range.from, target).status,
    };
  }

  /** Totals of each subject over the current month so far and over the last 30 days, each window measured once. */
  async function monthAndLast30(subjects: readonly Measured[]) {
    const w = windows(deps.clock.now().getTime());
    const { pieces, parts } = partition([w.month, w.last30]);
    const totals = await measure(subjects, pieces);
    const sum = (id: string, idx: number[]) => idx.reduce((t, i) => addTotals(t, totals.get(id)![i]!), zeroTotals());
    return { monthMs: w.monthMs, of: (id: string) => ({ month: sum(id, parts[0]!), last30: sum(id, parts[1]!) }) };
  }

  /** Buckets of `type` from `from` to now (the last one still open), measured up to now. */
  async function series(subjects: readonly Measured[], from: number, type: PeriodType, target: number, pooled = false): Promise<SlaPeriod[]> {
    const now = deps.clock.now().getTime();
    const all = buckets({ from, to: now + 1 }, type);
    const totals = await measure(subjects, all.map((b) => ({ from: b.from, to: Math.min(b.to, now) })), pooled);
    const list = totals.get(pooled ? '*' : subjects[0]!.id)!;
    return all.map((b, i) => period(b, type, list[i]!, target));
  }

  return {
    measure,

    async snapshotTrend(serviceId: string, hoursBack: number): Promise<SlaPeriod[]> {
      const [service] = await loadServices({ serviceId: assertUuid(serviceId, 'serviceId') });
      if (!service) throw new AppError('NOT_FOUND', `no service with id ${serviceId}`, { field: 'serviceId' });
      const now = deps.clock.now().getTime();
      return series([service], bucketStart(now - hoursBack * 3_600_000, 'FIVE_MINUTES'), 'FIVE_MINUTES', service.target);
    },

    async trendData(filter: { periodType: 'DAILY' | 'MONTHLY'; monthsBack: number; serviceId?: string | null; slaGroupId?: string | null }): Promise<SlaPeriod[]> {
      const type: PeriodType = filter.periodType === 'DAILY' ? 'DAY' : 'MONTH';
      const d = deps.clock.now();
      const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - filter.monthsBack, type === 'DAY' ? d.getUTCDate() : 1);
      if (filter.serviceId) {
        const [service] = await loadServices({ serviceId: assertUuid(filter.serviceId, 'filter.serviceId') });
        if (!service) throw new AppError('NOT_FOUND', `no service with id ${filter.serviceId}`, { field: 'filter.serviceId' });
        return series([service], from, type, service.target);
      }
      if (filter.slaGroupId) {
        const group = await deps.db.slaGroup.findUnique({
          where: { id: assertUuid(filter.slaGroupId, 'filter.slaGroupId') },
          select: { id: true, tier: true, targetUptime: true, services: { select: { id: true, lastSeenAt: true } } },
        });
        if (!group) throw new AppError('NOT_FOUND', `no SLA group with id ${filter.slaGroupId}`, { field: 'filter.slaGroupId' });
        return series(await groupSubjects([group]), from, type, targetOf(group));
      }
      // Every service that belongs to a group, pooled: their up and down time add up.
      const services = await loadServices({ grouped: true });
      const target = services.length ? Math.min(...services.map((s) => s.target)) : TIER_TARGETS.standard;
      return series(services, from, type, target, true);
    },

    /** `status` (current UTC month) and `currentUptime` (last 30 days) of groups, as the caller loaded them: no second read. */
    async groupNumbers(groups: { id: string; targetUptime: number; services: { id: string; lastSeenAt: Date | null }[] }[]): Promise<Map<string, { status: PeriodStatus; currentUptime: number | null }>> {
      const numbers = await monthAndLast30(await groupSubjects(groups));
      return new Map(groups.map((g) => {
        const { month, last30 } = numbers.of(g.id);
        return [g.id, { status: periodStatus(month, numbers.monthMs, g.targetUptime).status, currentUptime: uptime(last30) }];
      }));
    },

    /**
     * The current month's status of every service in a group and of every group, with what
     * an alert needs to say (names, budget used).
     */
    async monthStatuses(): Promise<{ scope: 'SERVICE' | 'GROUP'; id: string; serviceId: string | null; slaGroupId: string | null; name: string; status: PeriodStatus; consumedMinutes: number; allowedMinutes: number }[]> {
      const w = windows(deps.clock.now().getTime());
      const [services, groups] = await Promise.all([
        loadServices({ grouped: true }),
        deps.db.slaGroup.findMany({ select: { id: true, name: true, tier: true, targetUptime: true, services: { select: { id: true, name: true, nodeId: true, lastSeenAt: true } } } }),
      ]);
      const totals = await measure([...services, ...(await groupSubjects(groups))], [w.month]);
      const describe = (t: Totals, target: number) => {
        const p = periodStatus(t, w.monthMs, target);
        return { status: p.status, consumedMinutes: p.consumedMs / 60_000, allowedMinutes: p.allowedMs / 60_000 };
      };
      const names = new Map(groups.flatMap((g) => g.services.map((s) => [s.id, `${s.name} on ${s.nodeId}`] as const)));
      return [
        ...services.map((s) => ({ scope: 'SERVICE' as const, id: s.id, serviceId: s.id, slaGroupId: s.groupId, name: names.get(s.id) ?? s.id, ...describe(totals.get(s.id)![0]!, s.target) })),
        ...groups.map((g) => ({ scope: 'GROUP' as const, id: g.id, serviceId: null, slaGroupId: g.id, name: g.name, ...describe(totals.get(g.id)![0]!, targetOf(g)) })),
      ];
    },

    /**
     * Up and down time of every service in a group and of every group over each trailing window
     * of `windowsMs` ending now (the burn-rate alerts' windows): the windows are nested, so they are
     * cut into disjoint pieces, each measured once, in one pass of `measure`.
     */
    async trailingWindows(windowsMs: readonly number[]): Promise<{ scope: 'SERVICE' | 'GROUP'; id: string; name: string; nodeId: string | null; slaGroupId: string | null; target: number; windows: Map<number, Totals> }[]> {
      const now = deps.clock.now().getTime();
      const windowRanges = windowsMs.map((w) => ({ from: now - w, to: now }));
      const { pieces, parts } = partition(windowRanges);
      const [services, groups] = await Promise.all([
        loadServices({ grouped: true }),
        deps.db.slaGroup.findMany({ select: { id: true, name: true, tier: true, targetUptime: true, services: { select: { id: true, name: true, nodeId: true, lastSeenAt: true } } } }),
      ]);
      if (!services.length && !groups.length) return [];
      const totals = await measure([...services, ...(await groupSubjects(groups))], pieces);
      const sum = (id: string) => new Map(windowsMs.map((w, k) => [w, parts[k]!.reduce((t, i) => addTotals(t, totals.get(id)![i]!), zeroTotals())]));
      const named = new Map(groups.flatMap((g) => g.services.map((s) => [s.id, s] as const)));
      return [
        ...services.map((s) => ({ scope: 'SERVICE' as const, id: s.id, name: named.get(s.id) ? `${named.get(s.id)!.name} on ${named.get(s.id)!.nodeId}` : s.id, nodeId: named.get(s.id)?.nodeId ?? null, slaGroupId: s.groupId, target: s.target, windows: sum(s.id) })),
        ...groups.map((g) => ({ scope: 'GROUP' as const, id: g.id, name: g.name, nodeId: null, slaGroupId: g.id, target: targetOf(g), windows: sum(g.id) })),
      ];
    },

    async dashboardStats(): Promise<{ totalServices: number; servicesWithSla: number; metCount: number; atRiskCount: number; breachedCount: number; averageUptime: number | null }> {
      const [totalServices, services] = await Promise.all([deps.db.service.count(), loadServices({ grouped: true })]);
      const numbers = await monthAndLast30(services);
      const count = { MET: 0, AT_RISK: 0, BREACHED: 0, NO_DATA: 0 };
      const uptimes: number[] = [];
      for (const s of services) {
        const { month, last30 } = numbers.of(s.id);
        count[periodStatus(month, numbers.monthMs, s.target).status]++;
        const u = uptime(last30);
        if (u !== null) uptimes.push(u);
      }
      return {
        totalServices,
        servicesWithSla: services.length,
        metCount: count.MET,
        atRiskCount: count.AT_RISK,
        breachedCount: count.BREACHED,
        averageUptime: uptimes.length ? uptimes.reduce((a, b) => a + b, 0) / uptimes.length : null,
      };
    },
  };
}

export type SlaEngine = ReturnType<typeof createSlaEngine>;
