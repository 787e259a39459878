import type { Clock } from '../../infra/clock.js';
import type { JobRegistry } from '../../infra/jobs.js';
import { coverageRatio, type FleetCoverage } from '../../lib/ops-console.js';
import type { RunbooksService } from './runbooks.service.js';

/** One entry of the console's metric summary (seed 002's shape). */
export interface ConsoleMetric {
  metric: string;
  value: number | null;
  unit: string | null;
  stale: boolean;
  context?: Record<string, unknown>;
}

/** The window of the throughput figure: its busiest second within the last minute. */
const THROUGHPUT_WINDOW_SECONDS = 60;

export interface OpsConsoleDeps {
  runbooks: Pick<RunbooksService, 'lastRun'>;
  fleet: { coverage(): Promise<FleetCoverage>; peakStatusRate(windowSeconds: number): Promise<number> };
  jobs: Pick<JobRegistry, 'waitingCounts'>;
  clock: Clock;
}

/** What has no reading yet: null and stale, saying why. */
const missing = (metric: string, unit: string | null, note: string): ConsoleMetric => ({ metric, value: null, unit, stale: true, context: { note } });

/**
 * The console's overview figures computed by Opsgraph itself, each from its source of truth and
 * the same on every instance: the fleet (SLA module), the kept status reports, the runs, the queues.
 */
export function createOpsConsole(deps: OpsConsoleDeps) {
  return {
    async summary(): Promise<Record<string, ConsoleMetric>> {
      const [coverage, peak, failover, last, waiting] = await Promise.all([
        deps.fleet.coverage(),
        deps.fleet.peakStatusRate(THROUGHPUT_WINDOW_SECONDS),
        deps.runbooks.lastRun('failover'),
        deps.runbooks.lastRun(),
        deps.jobs.waitingCounts(),
      ]);
      return {
        coverage_ratio: {
          metric: 'opsgraph_fleet_coverage_ratio',
          value: coverageRatio(coverage),
          unit: null,
          stale: false,
          context: { expected_total: coverage.expected, active_total: coverage.active, matched_total: coverage.matched, ignored_total: coverage.ignored },
        },
        throughput_mps: {
          metric: 'opsgraph_ingest_throughput_mps',
          value: peak,
          unit: 'msg/s',
          stale: false,
          context: { window: `max_over_time[${THROUGHPUT_WINDOW_SECONDS / 60}m]`, source: 'service statuses received' },
        },
        failover_latency_ms: failover
          ? {
              metric: 'opsgraph_failover_latency_ms',
              value: failover.durationMs,
              unit: 'ms',
              stale: false,
              context: { request_id: failover.requestId, status: failover.status, finished_at: failover.finishedAt?.toISOString() ?? null },
            }
          : missing('opsgraph_failover_latency_ms', 'ms', 'no failover has run'),
        runbook_exit_code: last
          ? {
              metric: 'opsgraph_runbook_exit_code',
              value: last.exitCode,
              unit: null,
              stale: false,
              context: { command: last.command, request_id: last.requestId, finished_at: last.finishedAt?.toISOString() ?? null },
            }
          : missing('opsgraph_runbook_exit_code', null, 'no runbook has run'),
        consumer_backlog_messages: {
          metric: 'opsgraph_consumer_backlog_messages',
          value: Object.values(waiting).reduce((a, b) => a + b, 0),
          unit: 'messages',
          stale: false,
          context: { queues: waiting },
        },
      };
    },
  };
}

export type OpsConsole = ReturnType<typeof createOpsConsole>;
