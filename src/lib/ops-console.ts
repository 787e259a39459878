/** The ops console's arithmetic: fleet coverage, the throughput peak, store-backed entries and time-series steps. */

export interface FleetCoverage {
  /** Services registered. */
  expected: number;
  /** Reporting within the stale window. */
  active: number;
  /** Reporting and up (OPERATIONAL or DEGRADED). */
  matched: number;
  /** Reporting and in MAINTENANCE: left out of the denominator, as the SLA leaves them out. */
  ignored: number;
}

/** matched / (expected − ignored), rounded to 6 places; null when nothing is expected. */
export function coverageRatio(c: FleetCoverage): number | null {
  const denominator = c.expected - c.ignored;
  if (denominator <= 0) return null;
  return Math.round((c.matched / denominator) * 1e6) / 1e6;
}

/** A count of things received in one second (`second`: its start, epoch ms). */
export interface PerSecond {
  second: number;
  n: number;
}

/**
 * The busiest second of several sources added second by second (`max_over_time` of their sum):
 * 3 reports and 5 samples in one second and 6 reports in another peak at 8, not at 6 + 5.
 */
export function peakPerSecond(...sources: readonly (readonly PerSecond[])[]): number {
  const total = new Map<number, number>();
  for (const source of sources) for (const { second, n } of source) total.set(second, (total.get(second) ?? 0) + n);
  let peak = 0;
  for (const n of total.values()) if (n > peak) peak = n;
  return peak;
}

/** The summary's own entries, computed by Opsgraph: a configured entry may not take one of these keys. */
export const CONSOLE_OWN_KEYS = ['coverage_ratio', 'throughput_mps', 'failover_latency_ms', 'runbook_exit_code', 'consumer_backlog_messages'] as const;

/** How the newest samples of several series of one configured metric become the entry's value. */
export const CONSOLE_COMBINE = ['sum', 'avg', 'min', 'max'] as const;
export type ConsoleCombine = (typeof CONSOLE_COMBINE)[number];

/** One entry of OPS_CONSOLE_METRICS: a summary key read from a stored metric. */
export interface ConsoleMetricEntry {
  key: string;
  metric: string;
  unit: string | null;
  /** Only series whose labels include these. */
  labels: Record<string, string>;
  combine: ConsoleCombine;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
/** As the metrics store accepts names. */
const METRIC = /^[A-Za-z_][A-Za-z0-9_.:]{0,199}$/;
const ENTRY_FIELDS = ['metric', 'unit', 'labels', 'combine'];

/**
 * OPS_CONSOLE_METRICS: `{ "<key>": { "metric": "<stored name>", "unit"?, "labels"?, "combine"? } }`
 * as JSON ('' is none). Throws an Error naming the key and the field that is wrong.
 */
export function parseConsoleMetrics(text: string): ConsoleMetricEntry[] {
  if (text.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('a JSON object of { "<key>": { "metric": "<stored metric name>", "unit": "..." } }');
  const own = CONSOLE_OWN_KEYS as readonly string[];
  return Object.entries(parsed as Record<string, unknown>).map(([key, raw]) => {
    if (!KEY.test(key)) throw new Error(`${key}: a key of letters, digits and _, at most 100`);
    if (own.includes(key)) throw new Error(`${key}: one of the console's own entries (${own.join(', ')})`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${key}: an object with "metric"`);
    const e = raw as Record<string, unknown>;
    const unknown = Object.keys(e).find((f) => !ENTRY_FIELDS.includes(f));
    if (unknown) throw new Error(`${key}.${unknown}: unknown field (allowed: ${ENTRY_FIELDS.join(', ')})`);
    if (typeof e.metric !== 'string' || !METRIC.test(e.metric)) throw new Error(`${key}.metric: a stored metric name`);
    if (e.unit !== undefined && e.unit !== null && (typeof e.unit !== 'string' || e.unit.length > 50)) throw new Error(`${key}.unit: a string of at most 50 characters`);
    const labels = e.labels ?? {};
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || !Object.values(labels).every((v) => typeof v === 'string')) throw new Error(`${key}.labels: an object of string values`);
    const combine = e.combine ?? 'sum';
    if (!(CONSOLE_COMBINE as readonly unknown[]).includes(combine)) throw new Error(`${key}.combine: one of ${CONSOLE_COMBINE.join(', ')}`);
    return { key, metric: e.metric, unit: (e.unit as string | null | undefined) ?? null, labels: labels as Record<string, string>, combine: combine as ConsoleCombine };
  });
}

/** The newest sample of one series. */
export interface NewestSample {
  value: number;
  timestamp: Date;
}

export type StoredReading = { fresh: true; value: number; series: number; newest: Date } | { fresh: false; newest: Date | null };

/**
 * What a configured entry shows: the newest samples of its series no older than `staleMs`,
 * combined; not fresh when there are none (`newest`: when its exporter last sent, if ever).
 */
export function storedReading(samples: readonly NewestSample[], now: Date, staleMs: number, combine: ConsoleCombine): StoredReading {
  let newest: Date | null = null;
  for (const s of samples) if (!newest || s.timestamp > newest) newest = s.timestamp;
  const fresh = samples.filter((s) => now.getTime() - s.timestamp.getTime() <= staleMs).map((s) => s.value);
  if (fresh.length === 0 || !newest) return { fresh: false, newest };
  const sum = fresh.reduce((a, v) => a + v, 0);
  const value = combine === 'sum' ? sum : combine === 'avg' ? sum / fresh.length : combine === 'min' ? Math.min(...fresh) : Math.max(...fresh);
  return { fresh: true, value, series: fresh.length, newest };
}

/** The rollup tiers a time series may read, finest first, by bucket length. */
export const STEP_TIERS = [
  { tier: '1m', ms: 60_000 },
  { tier: '5m', ms: 300_000 },
  { tier: '1h', ms: 3_600_000 },
] as const;
export type StepSource = 'raw' | (typeof STEP_TIERS)[number]['tier'];

export const MAX_SERIES_POINTS = 1_000;

export interface StepPlan {
  /** Where the steps are read from: the coarsest tier whose bucket divides the step, else raw samples. */
  source: StepSource;
  stepMs: number;
  /** The start of the first step and the end of the read (now). */
  start: Date;
  end: Date;
  /** How many steps the window holds (the newest is the one now is in). */
  steps: number;
}

/**
 * The steps of a time series: aligned to the epoch (so to UTC), the newest holding `now`, as many
 * as `minutes` needs (`ceil(minutes · 60 / step)`). A tier answers when its bucket divides the step,
 * because then every step is a whole number of its buckets and the step's count, sum, min and
 * max are exactly those of its raw samples; the coarsest such tier reads the fewest rows.
 * Null when that is more than MAX_SERIES_POINTS steps.
 */
export function stepPlan(now: Date, minutes: number, stepSeconds: number): StepPlan | null {
  const stepMs = stepSeconds * 1_000;
  const steps = Math.ceil((minutes * 60_000) / stepMs);
  if (steps > MAX_SERIES_POINTS) return null;
  const current = Math.floor(now.getTime() / stepMs) * stepMs;
  let source: StepSource = 'raw';
  for (const t of STEP_TIERS) if (stepMs % t.ms === 0) source = t.tier;
  return { source, stepMs, start: new Date(current - (steps - 1) * stepMs), end: now, steps };
}
