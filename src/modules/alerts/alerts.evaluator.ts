import type pg from 'pg';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Outbox } from '../../infra/outbox.js';
import { inTransaction, sqlOf } from '../../infra/sql.js';
import { conditionHolds, fingerprint, step, type Condition, type OpenAlert, type Operator, type Timing } from '../../lib/alerting.js';
import { BURN_WINDOWS_MS, burnRateAlerts } from '../../lib/burn-rate.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';
import type { MetricsQuery } from '../metrics/metrics.query.js';
import type { SlaEngine } from '../sla/sla.engine.js';
import type { FleetService } from '../sla/sla.fleet.js';
import type { AlertSource, AlertState } from './alerts.events.js';
import { latestSamples } from './alerts.samples.js';
import { announce, writeAlerts, type AlertUpdate, type NewAlert } from './alerts.store.js';

/**
 * One evaluation cycle: every enabled rule over the latest sample of every matching series, the
 * SLA burn rates of every service and group, and the silent nodes and services, turned into alert
 * transitions by the pure lifecycle (lib/alerting.ts) and written by the one writer
 * (alerts.store.ts). A fixed number of statements whatever the number of rules, series and alerts:
 * rules, the metrics store's latest samples (one statement of its read API), open alerts, the fleet's silence, the burn-rate windows, then one transaction
 * with two writes (NODE alerts first, so the alerts that follow from a silent node see it firing),
 * the outbox insert and the rules' noData flags.
 *
 * Several evaluators may run the same cycle: the writer's compare-and-set makes each transition
 * happen once.
 */

/** What `metadata.kind` says raised an evaluated alert; each kind is evaluated (or left alone) as a whole. */
type Kind = 'rule' | 'node' | 'service-stale' | 'burn-rate';

interface Signal {
  kind: Kind;
  fingerprint: string;
  source: AlertSource;
  ruleId: string | null;
  severity: string;
  title: string;
  message: string;
  labels: Record<string, string>;
  value: number | null;
  threshold: number | null;
  holds: (firing: boolean) => boolean;
  timing: Timing;
}

interface RuleRow {
  id: string;
  name: string;
  metric: string;
  labels: Record<string, string>;
  operator: Operator;
  threshold: number;
  duration: number;
  recoveryThreshold: number | null;
  keepFiringFor: number;
  severity: string;
  noData: boolean;
}

interface OpenRow {
  id: string;
  fingerprint: string;
  ruleId: string | null;
  state: AlertState;
  activeAt: Date;
  firedAt: Date | null;
  lastTrueAt: Date | null;
  version: number;
  value: number | null;
  kind: Kind | null;
}

export interface CycleOutcome {
  rules: number;
  series: number;
  transitions: number;
}

const formatLabels = (l: Record<string, string>) => {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}="${v}"`).join(', ')}}` : '';
};

export function createAlertEvaluator(deps: {
  pool: pg.Pool;
  clock: Clock;
  outbox: Pick<Outbox, 'add' | 'nudge'>;
  logger: Logger;
  licenses: Pick<LicenseGuard, 'has'>;
  fleet: Pick<FleetService, 'silence'>;
  engine: Pick<SlaEngine, 'trailingWindows'>;
  /** The metrics store's read API: the latest sample per series. */
  metrics: Pick<MetricsQuery, 'latest'>;
  staleMs: number;
  sampleStaleMs: number;
}) {
  const sql = sqlOf(deps.pool);

  function ruleSignals(rules: RuleRow[], samples: Awaited<ReturnType<typeof latestSamples>>): Signal[] {
    const byId = new Map(rules.map((r) => [r.id, r]));
    return samples.flatMap((s) => {
      const rule = byId.get(s.ruleId);
      if (!rule) return [];
      const cond: Condition = { operator: rule.operator, threshold: rule.threshold, recoveryThreshold: rule.recoveryThreshold };
      return [
        {
          kind: 'rule' as const,
          fingerprint: fingerprint(rule.id, s.labels),
          source: 'RULE' as const,
          ruleId: rule.id,
          severity: rule.severity,
          title: rule.name,
          message: `${rule.name}: ${rule.metric}${formatLabels(s.labels)} = ${s.value} (${rule.operator} ${rule.threshold})`,
          labels: s.labels,
          value: s.value,
          threshold: rule.threshold,
          holds: (firing: boolean) => conditionHolds(cond, s.value, firing),
          timing: { durationMs: rule.duration * 1_000, keepFiringForMs: rule.keepFiringFor * 1_000 },
        },
      ];
    });
  }

  async function silenceSignals(): Promise<Signal[]> {
    const { nodes, staleServices } = await deps.fleet.silence();
    const now = deps.clock.now().getTime();
    const at = (d: Date | null) => (d ? d.toISOString() : 'ever');
    return [
      ...nodes
        .filter((n) => n.status === 'OFFLINE')
        .map((n): Signal => ({
          kind: 'node',
          fingerprint: fingerprint('node', { nodeId: n.id }),
          source: 'NODE',
          ruleId: null,
          severity: 'high',
          title: `Node ${n.id} is silent`,
          message: `no heartbeat or status report from node ${n.id} since ${at(n.lastSignAt)}; ${n.services} service(s) on it are not being watched`,
          labels: { nodeId: n.id },
          value: n.lastSignAt ? (now - n.lastSignAt.getTime()) / 1_000 : null,
          threshold: deps.staleMs / 1_000,
          holds: () => true,
          timing: { durationMs: 0, keepFiringForMs: 0 },
        })),
      // Held pending for one stale period: when a whole node went silent its own alert fires first,
      // and these fire suppressed by it instead of one page per service.
      ...staleServices.map((s): Signal => ({
        kind: 'service-stale',
        fingerprint: fingerprint('service-stale', { serviceId: s.id }),
        source: 'SLA',
        ruleId: null,
        severity: 'medium',
        title: `Service ${s.name} on ${s.nodeId} stopped reporting`,
        message: `no status of ${s.name} on ${s.nodeId} since ${s.lastSeenAt.toISOString()}; its status is UNKNOWN`,
        labels: { nodeId: s.nodeId, service: s.name, serviceId: s.id },
        value: (now - s.lastSeenAt.getTime()) / 1_000,
        threshold: deps.staleMs / 1_000,
        holds: () => true,
        timing: { durationMs: deps.staleMs, keepFiringForMs: 0 },
      })),
    ];
  }

  async function burnSignals(): Promise<Signal[]> {
    const subjects = await deps.engine.trailingWindows(BURN_WINDOWS_MS);
    return subjects.flatMap((s) =>
      burnRateAlerts(s.windows, s.target).map((r): Signal => {
        const labels: Record<string, string> = { window: r.window, burnRate: String(r.factor), scope: s.scope, subjectId: s.id, ...(s.nodeId ? { nodeId: s.nodeId } : {}) };
        return {
          kind: 'burn-rate',
          fingerprint: fingerprint(`burn-rate:${s.scope}:${s.id}`, { window: r.window }),
          source: 'SLA',
          ruleId: null,
          severity: r.severity,
          title: `${s.scope === 'GROUP' ? 'SLA group' : 'Service'} ${s.name} is burning its error budget (${r.kind})`,
          message: `${s.name}: burn rate ${r.long?.toFixed(2) ?? 'n/a'} over ${r.window.split('/')[0]} and ${r.short?.toFixed(2) ?? 'n/a'} over ${r.window.split('/')[1]}, above ${r.factor} (target ${s.target} %, 30-day budget)`,
          labels,
          value: r.long,
          threshold: r.factor,
          holds: () => r.firing,
          timing: { durationMs: 0, keepFiringForMs: 0 },
        };
      }),
    );
  }

  return {
    /** One cycle at the clock's now. */
    async evaluate(): Promise<CycleOutcome> {
      const now = deps.clock.now();
      const t = now.getTime();
      const [[rules, samples], open, silence, burning] = await Promise.all([
        sql
          .query<RuleRow>(`SELECT id, name, metric, labels, operator, threshold, duration, "recoveryThreshold", "keepFiringFor", severity, "noData" FROM "AlertRule" WHERE enabled`)
          .then(async (rules) => [rules, await latestSamples(deps.metrics, rules, new Date(t - deps.sampleStaleMs))] as const),
        sql.query<OpenRow>(
          `SELECT id, fingerprint, "ruleId", state, "activeAt", "firedAt", "lastTrueAt", version, value, metadata->>'kind' AS kind
           FROM "Alert" WHERE evaluated AND state <> 'RESOLVED'`,
        ),
        silenceSignals(),
        // Burn-rate alerts are the sla plugin's, as the error-budget alerts are; without it they are left as they are.
        deps.licenses.has('sla').then((on) => (on ? burnSignals() : null)),
      ]);
      const signals = [...ruleSignals(rules, samples), ...silence, ...(burning ?? [])];
      const evaluatedKinds = new Set<Kind>(['rule', 'node', 'service-stale', ...(burning ? (['burn-rate'] as const) : [])]);
      const rulesById = new Map(rules.map((r) => [r.id, r]));
      const openByFp = new Map(open.map((o) => [o.fingerprint, o]));
      const opens: NewAlert[] = [];
      const updates: AlertUpdate[] = [];
      const seen = new Set<string>();

      const apply = (sig: Signal | null, current: OpenRow | undefined) => {
        const phase: OpenAlert | null = current
          ? { state: current.state as 'PENDING' | 'FIRING', activeAt: current.activeAt.getTime(), firedAt: current.firedAt?.getTime() ?? null, lastTrueAt: current.lastTrueAt?.getTime() ?? null }
          : null;
        let timing: Timing = sig?.timing ?? { durationMs: 0, keepFiringForMs: 0 };
        // A series that stopped reporting: no data, never holding, with its rule's keepFiringFor.
        if (!sig && current?.ruleId && rulesById.has(current.ruleId)) timing = { durationMs: 0, keepFiringForMs: rulesById.get(current.ruleId)!.keepFiringFor * 1_000 };
        const holds = sig ? sig.holds(phase?.state === 'FIRING') : false;
        const next = step(phase, holds, t, timing);
        if (next.kind === 'none') return;
        if (next.kind === 'open') {
          opens.push({
            fingerprint: sig!.fingerprint,
            source: sig!.source,
            ruleId: sig!.ruleId,
            evaluated: true,
            state: next.alert.state,
            severity: sig!.severity,
            title: sig!.title,
            message: sig!.message,
            labels: sig!.labels,
            value: sig!.value,
            threshold: sig!.threshold,
            metadata: { kind: sig!.kind },
            activeAt: now,
            firedAt: next.alert.firedAt === null ? null : now,
            lastTrueAt: now,
            actor: null,
            note: null,
          });
          return;
        }
        const base = { id: current!.id, version: current!.version, prevState: current!.state };
        if (next.kind === 'resolve') updates.push({ ...base, state: 'RESOLVED', resolvedAt: now, value: sig?.value ?? null });
        else if (next.kind === 'fire') updates.push({ ...base, state: 'FIRING', firedAt: now, lastTrueAt: now, value: sig!.value, message: sig!.message, severity: sig!.severity });
        else if (sig && (sig.value !== current!.value || (holds && timing.keepFiringForMs > 0))) {
          // Still open: new value, and the instant it last held (keepFiringFor counts from there).
          updates.push({ ...base, state: current!.state, value: sig.value, lastTrueAt: holds ? now : null, message: sig.message, severity: sig.severity });
        }
      };

      for (const sig of signals) {
        seen.add(sig.fingerprint);
        apply(sig, openByFp.get(sig.fingerprint));
      }
      for (const o of open) if (!seen.has(o.fingerprint) && o.kind && evaluatedKinds.has(o.kind)) apply(null, o);

      const withData = new Set(samples.map((s) => s.ruleId));
      const noData = rules.filter((r) => r.noData !== !withData.has(r.id));
      const openKind = new Map(open.map((o) => [o.id, o.kind]));
      const nodeFirst = (u: AlertUpdate) => openKind.get(u.id) === 'node';
      const transitions = await inTransaction(deps.pool, async (db) => {
        const isNode = (x: NewAlert) => x.metadata.kind === 'node';
        const first = await writeAlerts(db, now, opens.filter(isNode), updates.filter(nodeFirst));
        const rest = await writeAlerts(db, now, opens.filter((x) => !isNode(x)), updates.filter((u) => !nodeFirst(u)));
        const written = [...first, ...rest];
        await announce(db, deps.outbox, written, now);
        if (noData.length) {
          await db.execute(`UPDATE "AlertRule" r SET "noData" = x.nd FROM unnest($1::text[], $2::boolean[]) AS x(id, nd) WHERE r.id = x.id`, [
            noData.map((r) => r.id),
            noData.map((r) => !withData.has(r.id)),
          ]);
        }
        return written.filter((w) => w.transition).length;
      });
      if (transitions) deps.outbox.nudge();
      return { rules: rules.length, series: samples.length, transitions };
    },

    /**
     * The scheduled tick (every second): runs a cycle when the last one, deployment-wide, is at
     * least `evaluationInterval` old by the clock. The claim is one compare-and-set on a Setting
     * row, so one worker runs each cycle; the interval is read every tick, so a change is in force
     * at the next second.
     */
    async tick(intervalSeconds: number): Promise<CycleOutcome | null> {
      const now = deps.clock.now();
      const claimed = await sql.execute(
        `INSERT INTO "Setting" (key, value, "updatedAt") VALUES ('alerting.lastCycle', $1, now())
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "updatedAt" = now()
         WHERE "Setting".value::timestamptz <= $2::timestamptz OR "Setting".value::timestamptz > $1::timestamptz`,
        [now.toISOString(), new Date(now.getTime() - intervalSeconds * 1_000).toISOString()],
      );
      if (!claimed) return null;
      return this.evaluate();
    },
  };
}

export type AlertEvaluator = ReturnType<typeof createAlertEvaluator>;
