import type { Clock } from '../../infra/clock.js';
import type { JobRegistry } from '../../infra/jobs.js';
import { AppError } from '../../lib/errors.js';
import type { Aggregation } from '../../lib/metric-aggregate.js';
import type { Labels } from '../../lib/metric-labels.js';
import { coverageRatio, peakPerSecond, stepPlan, storedReading, MAX_SERIES_POINTS, type ConsoleMetricEntry, type CONSOLE_OWN_KEYS, type FleetCoverage, type PerSecond } from '../../lib/ops-console.js';
import type { MetricsServices } from '../metrics/metrics.module.js';
import type { RunbooksService } from './runbooks.service.js';

/** One entry of the console's metric summary (seed 002's shape). */
export interface ConsoleMetric {
  metric: string;
  value: number | null;
  unit: string | null;
  stale: boolean;
  context?: Record<string, unknown>;
}

export interface ConsoleSeries {
  metric: string;
  unit: string | null;
  points: { timestamp: Date; value: number | null }[];
}

/** The window of the throughput figure: its busiest second within the last minute. */
const THROUGHPUT_WINDOW_SECONDS = 60;
/** What an entry without a fresh sample says (api.md's words). */
export const NO_SAMPLE = 'no exporter sample';
/** The collector the console's own figures are stored under in the metrics store. */
export const OPS_COLLECTOR = 'ops';

export interface OpsConsoleDeps {
  runbooks: Pick<RunbooksService, 'lastRun'>;
  fleet: { coverage(): Promise<FleetCoverage>; statusesPerSecond(windowSeconds: number): Promise<PerSecond[]> };
  metrics: Pick<MetricsServices, 'query' | 'ingest'>;
  jobs: Pick<JobRegistry, 'waitingCounts'>;
  clock: Clock;
  /** OPS_CONSOLE_METRICS. */
  stored: readonly ConsoleMetricEntry[];
  /** OPS_METRIC_STALE_SECONDS, in ms. */
  staleMs: number;
}

/** The console's own entries: the metric each is stored as, and its unit. */
const OWN = {
  coverage_ratio: { metric: 'opsgraph_fleet_coverage_ratio', unit: null },
  throughput_mps: { metric: 'opsgraph_ingest_throughput_mps', unit: 'msg/s' },
  failover_latency_ms: { metric: 'opsgraph_failover_latency_ms', unit: 'ms' },
  runbook_exit_code: { metric: 'opsgraph_runbook_exit_code', unit: null },
  consumer_backlog_messages: { metric: 'opsgraph_consumer_backlog_messages', unit: 'messages' },
} as const satisfies Record<(typeof CONSOLE_OWN_KEYS)[number], { metric: string; unit: string | null }>;

/** What has no reading yet: null and stale, saying why. */
const missing = (metric: string, unit: string | null, note: string, more: Record<string, unknown> = {}): ConsoleMetric => ({ metric, value: null, unit, stale: true, context: { note, ...more } });

/**
 * The console's overview figures: its own, computed by Opsgraph from each source of truth and the
 * same on every instance (the fleet, the kept status reports and metric samples, the runs, the
 * queues), and the OPS_CONSOLE_METRICS entries read from the metrics store with their staleness.
 * Its own figures are also stored in the metrics store every OPS_CONSOLE_SAMPLE_SECONDS (collector
 * `ops`), so the time series answers them like any stored metric.
 */
export function createOpsConsole(deps: OpsConsoleDeps) {
  const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
  /** A summary key (own or configured) names its stored metric in the time series too. */
  const byKey = new Map<string, { metric: string; unit: string | null; labels: Labels }>([
    ...Object.entries(OWN).map(([key, m]) => [key, { ...m, labels: {} }] as const),
    ...deps.stored.map((e) => [e.key, { metric: e.metric, unit: e.unit, labels: e.labels }] as const),
  ]);

  async function own(): Promise<Record<string, ConsoleMetric>> {
    const [coverage, statuses, samples, failover, last, waiting] = await Promise.all([
      deps.fleet.coverage(),
      deps.fleet.statusesPerSecond(THROUGHPUT_WINDOW_SECONDS),
      deps.metrics.query.samplesPerSecond(THROUGHPUT_WINDOW_SECONDS),
      deps.runbooks.lastRun('failover'),
      deps.runbooks.lastRun(),
      deps.jobs.waitingCounts(),
    ]);
    return {
      coverage_ratio: {
        metric: OWN.coverage_ratio.metric,
        value: coverageRatio(coverage),
        unit: null,
        stale: false,
        context: { expected_total: coverage.expected, active_total: coverage.active, matched_total: coverage.matched, ignored_total: coverage.ignored },
      },
      throughput_mps: {
        metric: OWN.throughput_mps.metric,
        value: peakPerSecond(statuses, samples),
        unit: OWN.throughput_mps.unit,
        stale: false,
        context: {
          window: `max_over_time[${THROUGHPUT_WINDOW_SECONDS / 60}m]`,
          source: 'service statuses received plus metric samples stored',
          statuses_peak: peakPerSecond(statuses),
          samples_peak: peakPerSecond(samples),
        },
      },
      failover_latency_ms: failover
        ? {
            metric: OWN.failover_latency_ms.metric,
            value: failover.durationMs,
            unit: 'ms',
            stale: false,
            context: { request_id: failover.requestId, status: failover.status, finished_at: iso(failover.finishedAt) },
          }
        : missing(OWN.failover_latency_ms.metric, OWN.failover_latency_ms.unit, 'no failover has run'),
      runbook_exit_code: last
        ? {
            metric: OWN.runbook_exit_code.metric,
            value: last.exitCode,
            unit: null,
            stale: false,
            context: { command: last.command, request_id: last.requestId, finished_at: iso(last.finishedAt) },
          }
        : missing(OWN.runbook_exit_code.metric, OWN.runbook_exit_code.unit, 'no runbook has run'),
      consumer_backlog_messages: {
        metric: OWN.consumer_backlog_messages.metric,
        value: Object.values(waiting).reduce((a, b) => a + b, 0),
        unit: 'messages',
        stale: false,
        context: { queues: waiting },
      },
    };
  }

  /** The configured entries, from the newest sample of each of their series (one statement for all). */
  async function stored(): Promise<Record<string, ConsoleMetric>> {
    if (deps.stored.length === 0) return {};
    const [latest, defs] = await Promise.all([
      deps.metrics.query.latest({ names: [...new Set(deps.stored.map((e) => e.metric))] }),
      Promise.all(deps.stored.map((e) => deps.metrics.query.definition(e.metric))),
    ]);
    const now = deps.clock.now();
    const out: Record<string, ConsoleMetric> = {};
    deps.stored.forEach((e, i) => {
      const unit = e.unit ?? defs[i]?.unit ?? null;
      const samples = latest.filter((s) => s.name === e.metric && Object.entries(e.labels).every(([k, v]) => s.labels[k] === v));
      const r = storedReading(samples, now, deps.staleMs, e.combine);
      const staleAfter = { stale_after_seconds: deps.staleMs / 1_000 };
      out[e.key] = r.fresh
        ? { metric: e.metric, value: r.value, unit, stale: false, context: { last_sample_at: iso(r.newest), series: r.series, ...(r.series > 1 ? { combine: e.combine } : {}), ...staleAfter } }
        : // The exporter stopped (last_sample_at says since when) or never sent (null).
          missing(e.metric, unit, NO_SAMPLE, { last_sample_at: iso(r.newest), ...staleAfter });
    });
    return out;
  }

  return {
    async summary(): Promise<Record<string, ConsoleMetric>> {
      const [mine, theirs] = await Promise.all([own(), stored()]);
      return { ...mine, ...theirs };
    },

    /**
     * A stored metric over the last `minutes`, one point per step (see `stepPlan`): its timestamp
     * the step's start, its value the aggregation of the step's samples of every matching series;
     * steps without samples are left out. `metric` is a stored name or a summary key.
     */
    async timeseries(q: { metric: string; minutes: number; stepSeconds: number; aggregation: Aggregation; labels: Labels }): Promise<ConsoleSeries> {
      const alias = byKey.get(q.metric);
      const name = alias?.metric ?? q.metric;
      const def = await deps.metrics.query.definition(name);
      if (!def) throw new AppError('NOT_FOUND', `unknown metric ${q.metric}`, { field: 'metric', metric: q.metric });
      const now = deps.clock.now();
      const plan = stepPlan(now, q.minutes, q.stepSeconds);
      if (!plan) {
        throw new AppError('BAD_USER_INPUT', `step_seconds: ${q.minutes} minutes in steps of ${q.stepSeconds} s is more than ${MAX_SERIES_POINTS} points; use a step of at least ${Math.ceil((q.minutes * 60) / MAX_SERIES_POINTS)} s`, {
          field: 'step_seconds',
        });
      }
      const answer = await deps.metrics.query.series({
        name,
        start: plan.start,
        // A tier reads buckets that start before `end`: the one starting at now holds samples of now.
        end: plan.source === 'raw' ? plan.end : new Date(plan.end.getTime() + 1),
        granularity: plan.source,
        aggregation: q.aggregation,
        labels: { ...alias?.labels, ...q.labels },
        stepMs: plan.stepMs,
      });
      return { metric: def.name, unit: def.unit ?? alias?.unit ?? null, points: answer.dataPoints };
    },

    /** Stores the console's own figures that have a value, as samples of collector `ops` (the worker's scheduled job). */
    async record(): Promise<number> {
      const mine = await own();
      const at = deps.clock.now();
      const samples = Object.values(mine)
        .filter((m): m is ConsoleMetric & { value: number } => m.value !== null)
        .map((m) => ({ name: m.metric, value: m.value, timestamp: at, labels: {}, type: 'gauge' as const, ...(m.unit ? { unit: m.unit } : {}) }));
      const stored = await deps.metrics.ingest.ingest(samples, OPS_COLLECTOR);
      return stored.accepted;
    },
  };
}

export type OpsConsole = ReturnType<typeof createOpsConsole>;
