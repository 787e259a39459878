/** The ops console's arithmetic: fleet coverage. */

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
