import type { FleetCoverage } from '../../lib/ops-console.js';
import { coverageRatio } from '../../lib/ops-console.js';

/** One check of the built-in health_check, as the console shows it. */
export interface HealthCheckResult {
  name: string;
  status: 'pass' | 'fail';
  latency_ms: number;
  detail: string | null;
}

/** The `health` block of a health_check run (seed 002's shape). */
export interface HealthBlock {
  coverage_ratio: number | null;
  expected_total: number;
  active_total: number;
  matched_total: number;
  ignored_total: number;
  generated_at: string;
  checks: HealthCheckResult[];
}

export interface HealthSources {
  /** PostgreSQL and Redis, pinged with their timeouts through the app's own connections. */
  dependencies(): Promise<{ name: string; ok: boolean; latencyMs: number; error?: string }[]>;
  coverage(): Promise<FleetCoverage>;
  now(): Date;
}

/**
 * Runs every check of the built-in health_check: the dependencies and the fleet's coverage (a
 * check of its own, failing when nothing that is expected reports up).
 */
export async function runHealthChecks(sources: HealthSources): Promise<HealthBlock> {
  const started = performance.now();
  const [deps, coverage] = await Promise.all([sources.dependencies(), sources.coverage().then((c) => ({ c, ms: Math.round(performance.now() - started) }))]);
  const ratio = coverageRatio(coverage.c);
  const checks: HealthCheckResult[] = [
    ...deps.map((d) => ({ name: d.name, status: d.ok ? ('pass' as const) : ('fail' as const), latency_ms: d.latencyMs, detail: d.error ?? null })),
    {
      name: 'fleet_coverage',
      status: ratio === null || ratio > 0 ? 'pass' : 'fail',
      latency_ms: coverage.ms,
      detail: ratio === null ? 'no service expected to report' : `${coverage.c.matched} of ${coverage.c.expected - coverage.c.ignored} services reporting up`,
    },
  ];
  return {
    coverage_ratio: ratio,
    expected_total: coverage.c.expected,
    active_total: coverage.c.active,
    matched_total: coverage.c.matched,
    ignored_total: coverage.c.ignored,
    generated_at: sources.now().toISOString(),
    checks,
  };
}
