/** The ops console's arithmetic: fleet coverage, staleness, time-series steps. */

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

/** Whether a reading taken at `at` is too old at `now` (no reading at all is stale). */
export function isStale(at: Date | null | undefined, now: Date, staleSeconds: number): boolean {
  return !at || now.getTime() - at.getTime() > staleSeconds * 1_000;
}

/** At most this many points in one time series answer. */
export const MAX_POINTS = 1_000;

/**
 * The buckets of a time series: `minutes` back from `now`, `stepSeconds` each, aligned to the step
 * (UTC epoch), oldest first, including the one `now` falls in. Throws when it would exceed MAX_POINTS.
 */
export function seriesBuckets(now: Date, minutes: number, stepSeconds: number): { from: Date; to: Date; count: number } {
  const stepMs = stepSeconds * 1_000;
  const end = Math.floor(now.getTime() / stepMs) * stepMs + stepMs;
  const start = Math.floor((now.getTime() - minutes * 60_000) / stepMs) * stepMs + stepMs;
  const count = Math.round((end - start) / stepMs);
  if (count > MAX_POINTS) throw new RangeError(`${count} points: at most ${MAX_POINTS} (raise step_seconds or lower minutes)`);
  return { from: new Date(start), to: new Date(end), count };
}
