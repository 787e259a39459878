import { durations, type Durations, type Segment } from './sla.js';

/**
 * Multi-window, multi-burn-rate alerts on a 30-day error budget (the alerts Sloth and Pyrra generate
 * as Prometheus rules, after the Google SRE workbook). The burn rate over a window is the share of
 * measured time that was down, divided by the share the target allows (1 − target/100): a burn
 * rate of 1 spends the whole 30-day budget in exactly 30 days, 14.4 spends 2 % of it in an hour.
 * Unknown and maintenance time is not measured, so it burns nothing (lib/sla.ts `availability`).
 *
 * Each alert needs both its long and its short window over the factor: the long window makes it
 * significant, the short one makes it stop soon after the burning stops.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

export interface BurnRateAlert {
  /** page (critical) or ticket (medium). */
  kind: 'page' | 'ticket';
  severity: 'critical' | 'medium';
  /** The `window` label: long/short. */
  window: string;
  longMs: number;
  shortMs: number;
  /** The `burnRate` label: the factor both windows must exceed. */
  factor: number;
}

export const BURN_RATE_ALERTS: readonly BurnRateAlert[] = [
  { kind: 'page', severity: 'critical', window: '1h/5m', longMs: HOUR_MS, shortMs: 5 * MINUTE_MS, factor: 14.4 },
  { kind: 'page', severity: 'critical', window: '6h/30m', longMs: 6 * HOUR_MS, shortMs: 30 * MINUTE_MS, factor: 6 },
  { kind: 'ticket', severity: 'medium', window: '3d/6h', longMs: 72 * HOUR_MS, shortMs: 6 * HOUR_MS, factor: 1 },
];

/** Every window the alerts read, shortest first. */
export const BURN_WINDOWS_MS: readonly number[] = [...new Set(BURN_RATE_ALERTS.flatMap((a) => [a.longMs, a.shortMs]))].sort((a, b) => a - b);

/** The burn rate of one window; null when nothing in it was measured (all unknown or maintenance). */
export function burnRate(d: Durations, targetPercent: number): number | null {
  const measured = d.upMs + d.downMs;
  if (measured === 0) return null;
  const allowed = 1 - targetPercent / 100;
  if (allowed <= 0) return d.downMs > 0 ? Infinity : 0;
  return d.downMs / measured / allowed;
}

export interface BurnRateReading extends BurnRateAlert {
  long: number | null;
  short: number | null;
  firing: boolean;
}

/** Each alert's two burn rates and whether both exceed its factor, from the totals of every window in BURN_WINDOWS_MS. */
export function burnRateAlerts(byWindow: ReadonlyMap<number, Durations>, targetPercent: number): BurnRateReading[] {
  const rate = (ms: number) => burnRate(byWindow.get(ms) ?? { upMs: 0, downMs: 0 }, targetPercent);
  return BURN_RATE_ALERTS.map((a) => {
    const long = rate(a.longMs);
    const short = rate(a.shortMs);
    return { ...a, long, short, firing: long !== null && short !== null && long > a.factor && short > a.factor };
  });
}

/** The totals of each trailing window ending at `now`, from a timeline covering them. */
export function windowTotals(segments: readonly Segment[], now: number, windowsMs: readonly number[] = BURN_WINDOWS_MS): Map<number, Durations> {
  return new Map(windowsMs.map((w) => [w, durations(segments, { from: now - w, to: now })]));
}
