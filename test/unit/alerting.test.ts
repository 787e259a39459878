import { describe, expect, it } from 'vitest';
import { conditionHolds, recoveryProblem, step, type Condition, type OpenAlert, type Timing } from '../../src/lib/alerting.js';
import { BURN_WINDOWS_MS, burnRate, burnRateAlerts, windowTotals } from '../../src/lib/burn-rate.js';
import { timeline } from '../../src/lib/sla.js';
import type { ServiceStatus } from '../../src/lib/status-history.js';

/**
 * Rule tests in the style of `promtool test rules`: a scripted series (one value per evaluation,
 * `_` for no sample), an evaluation every `interval`, and the alert state expected after each one
 * (`-` nothing open, `P` pending, `F` firing, `R` resolved at that evaluation).
 */
interface Case {
  name: string;
  cond: Condition;
  timing: { duration: number; keepFiringFor: number };
  interval: number;
  series: string;
  expect: string;
}

function run(c: Case): string {
  const values = c.series.split(/\s+/).map((v) => (v === '_' ? null : Number(v)));
  const t: Timing = { durationMs: c.timing.duration * 1_000, keepFiringForMs: c.timing.keepFiringFor * 1_000 };
  let open: OpenAlert | null = null;
  const out: string[] = [];
  values.forEach((v, i) => {
    const now = i * c.interval * 1_000;
    const s = step(open, conditionHolds(c.cond, v, open?.state === 'FIRING'), now, t);
    if (s.kind === 'resolve') {
      out.push('R');
      open = null;
    } else if (s.kind === 'none') out.push('-');
    else {
      open = s.alert;
      out.push(open.state === 'FIRING' ? 'F' : 'P');
    }
  });
  return out.join(' ');
}

const gt80: Condition = { operator: '>', threshold: 80, recoveryThreshold: null };
const cases: Case[] = [
  { name: 'fires at once without a duration, resolves at once', cond: gt80, timing: { duration: 0, keepFiringFor: 0 }, interval: 30, series: '50 85 90 70 60', expect: '- F F R -' },
  { name: 'duration: pending until it held 60 s', cond: gt80, timing: { duration: 60, keepFiringFor: 0 }, interval: 30, series: '85 85 85 85 70', expect: 'P P F F R' },
  { name: 'duration: a dip while pending resets it (resolved unfired)', cond: gt80, timing: { duration: 60, keepFiringFor: 0 }, interval: 30, series: '85 85 70 85 85 85', expect: 'P P R P P F' },
  {
    name: 'recoveryThreshold: hovering around the threshold does not flap',
    cond: { operator: '>', threshold: 80, recoveryThreshold: 70 },
    timing: { duration: 0, keepFiringFor: 0 },
    interval: 30,
    series: '85 79 81 75 71 69 81',
    expect: 'F F F F F R F',
  },
  { name: 'keepFiringFor: a short dip keeps it firing', cond: gt80, timing: { duration: 0, keepFiringFor: 60 }, interval: 30, series: '85 70 85 70 70 70', expect: 'F F F F R -' },
  { name: 'noData: a missing sample never holds', cond: gt80, timing: { duration: 0, keepFiringFor: 0 }, interval: 30, series: '_ 85 _ 85', expect: '- F R F' },
  { name: 'noData with keepFiringFor: a gap in the data does not resolve', cond: gt80, timing: { duration: 0, keepFiringFor: 90 }, interval: 30, series: '85 _ _ 85 _ _ _', expect: 'F F F F F F R' },
  { name: 'operator <', cond: { operator: '<', threshold: 10, recoveryThreshold: 20 }, timing: { duration: 0, keepFiringFor: 0 }, interval: 30, series: '15 5 15 25', expect: '- F F R' },
  { name: 'operator ==', cond: { operator: '==', threshold: 0, recoveryThreshold: null }, timing: { duration: 30, keepFiringFor: 0 }, interval: 30, series: '1 0 0 0 1', expect: '- P F F R' },
];

describe('the alert lifecycle (promtool-style rule tests)', () => {
  it.each(cases)('$name', (c) => expect(run(c)).toBe(c.expect));

  it('a recovery threshold on the wrong side is refused', () => {
    expect(recoveryProblem('>', 80, 90)).toMatch(/at most/);
    expect(recoveryProblem('<', 10, 5)).toMatch(/at least/);
    expect(recoveryProblem('==', 1, 1)).toMatch(/no recoveryThreshold/);
    expect(recoveryProblem('>', 80, 70)).toBeNull();
  });
});

describe('burn-rate alerts', () => {
  const HOUR = 3_600_000;
  const MIN = 60_000;
  const start = Date.UTC(2026, 1, 1);
  /** A service up for `upHours`, then `status` from then on; evaluated at `at` minutes into the second part. */
  const readings = (status: ServiceStatus, minutesIn: number, target = 99.9) => {
    const outageAt = start + 10 * 24 * HOUR;
    const changes = [
      { at: start, status: 'OPERATIONAL' as ServiceStatus },
      { at: outageAt, status },
    ];
    const now = outageAt + minutesIn * MIN;
    const segments = timeline(changes, { from: start, to: now });
    return burnRateAlerts(windowTotals(segments, now, BURN_WINDOWS_MS), target);
  };
  const page = (r: ReturnType<typeof readings>) => r.filter((a) => a.kind === 'page' && a.firing).map((a) => a.window);

  it('a full outage pages on the 1h/5m window once 1 h of it burned 14.4x the budget, not before', () => {
    // At 99.9 %, a burn rate of 14.4 is 1.44 % of an hour down: 52 s. At 1 minute the short window is
    // fully down (burn 1000) and the long one has 1 of 60 minutes down: burn 16.7 > 14.4.
    expect(page(readings('MAJOR_OUTAGE', 0.5))).toEqual([]);
    expect(page(readings('MAJOR_OUTAGE', 1))).toEqual(['1h/5m']);
    // 6h/30m needs 0.6 % of 6 h down (2.16 minutes).
    expect(page(readings('MAJOR_OUTAGE', 2))).toEqual(['1h/5m']);
    expect(page(readings('MAJOR_OUTAGE', 3))).toEqual(['1h/5m', '6h/30m']);
    const r = readings('MAJOR_OUTAGE', 1).find((a) => a.window === '1h/5m')!;
    expect(r.long).toBeCloseTo(1000 / 60, 5);
    expect(r.short).toBeCloseTo(1000 / 5, 5);
  });

  it('a steady 0.8 % down share (burn rate 8 at 99.9 %) pages over 6h/30m only, and tickets over 3d/6h', () => {
    const d = (down: number, up: number) => ({ upMs: up, downMs: down });
    const windows = new Map(BURN_WINDOWS_MS.map((w) => [w, d(w * 0.008, w * 0.992)]));
    const r = burnRateAlerts(windows, 99.9);
    expect(r.filter((a) => a.firing).map((a) => [a.window, a.severity])).toEqual([
      ['6h/30m', 'critical'],
      ['3d/6h', 'medium'],
    ]);
  });

  it('unknown and maintenance time burn nothing', () => {
    expect(page(readings('UNKNOWN', 120))).toEqual([]);
    expect(page(readings('MAINTENANCE', 120))).toEqual([]);
    expect(burnRate({ upMs: 0, downMs: 0 }, 99.9)).toBeNull();
    // The windows that hold only unknown time have no burn rate at all.
    expect(readings('UNKNOWN', 120).find((a) => a.window === '1h/5m')).toMatchObject({ long: null, short: null, firing: false });
  });
});
