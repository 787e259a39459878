import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addTotals, bucketStart, buckets, durations, durationsPerRange, groupTimeline, incidents, mergeRanges, partition, periodStatus, splitStored, timeline, totalsPerRange, uptime, zeroTotals, type Segment } from '../../src/lib/sla.js';
import { changesFrom, SERVICE_STATUSES, type ServiceStatus } from '../../src/lib/status-history.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 1, 7, 14, 0);
const STALE = 90_000;

/** The timeline the reports define, as the fleet stores it and the engine reads it. */
function fromReports(reports: { at: number; status: ServiceStatus }[], range: { from: number; to: number }): Segment[] {
  const sorted = [...reports].sort((a, b) => a.at - b.at);
  const changes = changesFrom(sorted, STALE, { lastAt: null, status: null });
  return timeline(changes, range, { lastSeen: sorted.at(-1)?.at ?? null, staleMs: STALE });
}

describe('the numbers api.md defines', () => {
  it('OPERATIONAL at :00, PARTIAL_OUTAGE at :01, OPERATIONAL at :03, reports every 30 s: 60 %, 2 minutes down, one incident, BREACHED', () => {
    const reports = [];
    for (let t = 0; t < 5 * MIN; t += 30_000) reports.push({ at: T0 + t, status: (t >= MIN && t < 3 * MIN ? 'PARTIAL_OUTAGE' : 'OPERATIONAL') as ServiceStatus });
    const bucket = { from: T0, to: T0 + 5 * MIN };
    const segments = fromReports(reports, bucket);
    const d = durations(segments);
    expect(uptime(d)).toBe(60);
    expect(d.downMs / MIN).toBe(2);
    expect(incidents(segments)).toEqual([{ startedAt: T0 + MIN, endedAt: T0 + 3 * MIN }]);
    expect(periodStatus(d, 5 * MIN, 99.9).status).toBe('BREACHED');
  });

  it('a 90-second silence is UNKNOWN and left out of the denominator; MAINTENANCE too', () => {
    const reports = [
      { at: T0, status: 'OPERATIONAL' as const },
      { at: T0 + 30_000, status: 'OPERATIONAL' as const },
      // silent until :03; stale from 0:30 + 90 s = 2:00
      { at: T0 + 3 * MIN, status: 'MAINTENANCE' as const },
      { at: T0 + 4 * MIN, status: 'MAJOR_OUTAGE' as const },
    ];
    const segments = fromReports(reports, { from: T0, to: T0 + 5 * MIN });
    expect(segments.map((s) => [(s.from - T0) / 1000, s.status])).toEqual([
      [0, 'OPERATIONAL'],
      [120, 'UNKNOWN'],
      [180, 'MAINTENANCE'],
      [240, 'MAJOR_OUTAGE'],
    ]);
    const d = durations(segments);
    expect(d).toEqual({ upMs: 2 * MIN, downMs: MIN });
    expect(uptime(d)).toBeCloseTo(66.667, 3);
  });

  it('a group is down while one of three members is down', () => {
    const range = { from: T0, to: T0 + 10 * MIN };
    const up: Segment[] = [{ from: T0, to: T0 + 10 * MIN, status: 'OPERATIONAL' }];
    const flaky: Segment[] = [
      { from: T0, to: T0 + 2 * MIN, status: 'OPERATIONAL' },
      { from: T0 + 2 * MIN, to: T0 + 5 * MIN, status: 'MAJOR_OUTAGE' },
      { from: T0 + 5 * MIN, to: T0 + 10 * MIN, status: 'DEGRADED' },
    ];
    const g = groupTimeline([up, flaky, up], range);
    expect(g).toEqual([
      { from: T0, to: T0 + 2 * MIN, state: 'UP' },
      { from: T0 + 2 * MIN, to: T0 + 5 * MIN, state: 'DOWN' },
      { from: T0 + 5 * MIN, to: T0 + 10 * MIN, state: 'UP' },
    ]);
  });

  it('AT_RISK from 75 % of the budget, BREACHED above it, NO_DATA without data', () => {
    const month = 30 * 86_400_000;
    const allowed = (1 - 99.9 / 100) * month;
    expect(periodStatus({ upMs: month - 0.74 * allowed, downMs: 0.74 * allowed }, month, 99.9).status).toBe('MET');
    expect(periodStatus({ upMs: month - 0.75 * allowed, downMs: 0.75 * allowed }, month, 99.9).status).toBe('AT_RISK');
    expect(periodStatus({ upMs: month - allowed, downMs: allowed }, month, 99.9).status).toBe('AT_RISK');
    expect(periodStatus({ upMs: month - allowed - 1, downMs: allowed + 1 }, month, 99.9).status).toBe('BREACHED');
    expect(periodStatus({ upMs: 0, downMs: 0 }, month, 99.9).status).toBe('NO_DATA');
  });

  it('buckets are UTC-aligned and cover the range', () => {
    expect(buckets({ from: T0 + 61_000, to: T0 + 11 * MIN }, 'FIVE_MINUTES').map((b) => (b.from - T0) / MIN)).toEqual([0, 5, 10]);
    expect(buckets({ from: Date.UTC(2026, 0, 31, 23), to: Date.UTC(2026, 2, 1, 1) }, 'MONTH').map((b) => new Date(b.from).toISOString())).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
  });
});

const statusArb = fc.constantFrom(...SERVICE_STATUSES);
const reportsArb = fc.uniqueArray(fc.record({ at: fc.integer({ min: 0, max: 6 * 3_600_000 }).map((ms) => T0 + ms), status: statusArb }), { selector: (r) => r.at, maxLength: 60 });
const fullyKnown = fc.array(fc.record({ len: fc.integer({ min: 1, max: 3_600_000 }), status: fc.constantFrom<ServiceStatus>('OPERATIONAL', 'DEGRADED', 'PARTIAL_OUTAGE', 'MAJOR_OUTAGE') }), { minLength: 1, maxLength: 20 });

describe('properties', () => {
  it('the order reports arrive in never changes the timeline', () => {
    fc.assert(
      fc.property(reportsArb, fc.array(fc.nat()), (reports, keys) => {
        const range = { from: T0, to: T0 + 7 * 3_600_000 };
        const shuffled = reports.map((r, i) => ({ r, k: keys[i] ?? i })).sort((a, b) => a.k - b.k).map((x) => x.r);
        expect(fromReports(shuffled, range)).toEqual(fromReports(reports, range));
      }),
    );
  });

  it('the uptime of a range is the time-weighted combination of its parts, and bucket downtimes sum to the whole', () => {
    fc.assert(
      fc.property(reportsArb, fc.integer({ min: 1, max: 7 * 3_600_000 - 1 }), (reports, cut) => {
        const range = { from: T0, to: T0 + 7 * 3_600_000 };
        const segments = fromReports(reports, range);
        const whole = durations(segments);
        const a = durations(segments, { from: range.from, to: range.from + cut });
        const b = durations(segments, { from: range.from + cut, to: range.to });
        expect(a.upMs + b.upMs).toBe(whole.upMs);
        expect(a.downMs + b.downMs).toBe(whole.downMs);
        const perBucket = buckets(range, 'FIVE_MINUTES').map((bk) => durations(segments, bk).downMs);
        expect(perBucket.reduce((x, y) => x + y, 0)).toBe(whole.downMs);
      }),
    );
  });

  it('measuring many ranges in one pass gives what measuring each does', () => {
    fc.assert(
      fc.property(reportsArb, fc.constantFrom<'FIVE_MINUTES' | 'DAY'>('FIVE_MINUTES', 'DAY'), (reports, size) => {
        const range = { from: T0 - 3_600_000, to: T0 + 7 * 3_600_000 };
        const segments = fromReports(reports, range);
        const ranges = buckets(range, size);
        expect(durationsPerRange(segments, ranges)).toEqual(ranges.map((r) => durations(segments, r)));
      }),
    );
  });

  it('a group whose members always have data is never more available than its least available member', () => {
    fc.assert(
      fc.property(fc.array(fullyKnown, { minLength: 1, maxLength: 5 }), (members) => {
        const range = { from: T0, to: T0 + 20 * 3_600_000 };
        const timelines = members.map((parts) => {
          let t = T0;
          const segs: Segment[] = parts.map((p) => ({ from: t, to: (t += p.len), status: p.status }));
          segs.push({ from: t, to: range.to + 1, status: 'OPERATIONAL' });
          return segs;
        });
        const g = groupTimeline(timelines, range);
        const groupUptime = uptime({
          upMs: g.filter((s) => s.state === 'UP').reduce((x, s) => x + s.to - s.from, 0),
          downMs: g.filter((s) => s.state === 'DOWN').reduce((x, s) => x + s.to - s.from, 0),
        })!;
        const worst = Math.min(...timelines.map((t) => uptime(durations(t, range))!));
        expect(groupUptime).toBeLessThanOrEqual(worst + 1e-9);
      }),
    );
  });
});

const DAY = 86_400_000;
const rangeArb = fc.tuple(fc.integer({ min: 0, max: 10 * DAY }), fc.integer({ min: 0, max: 10 * DAY })).map(([a, b]) => ({ from: T0 + Math.min(a, b), to: T0 + Math.max(a, b) }));

describe('rollups and live history', () => {
  it('a range is exactly its stored whole days before validUntil plus its live parts', () => {
    fc.assert(
      fc.property(rangeArb, fc.option(fc.integer({ min: -2, max: 12 }).map((d) => bucketStart(T0, 'DAY') + d * DAY)), (range, validUntil) => {
        const { stored, live } = splitStored(range, validUntil);
        const parts = [...(stored ? [stored] : []), ...live].sort((a, b) => a.from - b.from);
        expect(mergeRanges(parts)).toEqual(range.to > range.from ? [range] : []);
        expect(parts.reduce((n, p) => n + p.to - p.from, 0)).toBe(range.to - range.from);
        if (stored) {
          expect(stored.from % DAY).toBe(0);
          expect(stored.to % DAY).toBe(0);
          expect(stored.to).toBeLessThanOrEqual(validUntil!);
        }
      }),
    );
  });

  it('summing per-day totals and live parts gives the totals measured in one go', () => {
    fc.assert(
      fc.property(reportsArb, rangeArb, fc.integer({ min: 0, max: 3 }), (reports, range, validDays) => {
        const all = { from: T0 - DAY, to: T0 + 11 * DAY };
        const segments = fromReports(reports, all);
        const days = buckets(all, 'DAY');
        const perDay = totalsPerRange(segments, days);
        const { stored, live } = splitStored(range, bucketStart(T0, 'DAY') + validDays * DAY);
        const sum = zeroTotals();
        if (stored) days.forEach((d, i) => d.from >= stored.from && d.to <= stored.to && addTotals(sum, perDay[i]!));
        // A live part counts the incidents that start inside it, from a timeline that starts earlier.
        for (const p of live) addTotals(sum, totalsPerRange(segments, [p])[0]!);
        expect(sum).toEqual(totalsPerRange(segments, [range])[0]);
      }),
    );
  });

  it('overlapping windows are cut into disjoint pieces that rebuild each window', () => {
    fc.assert(
      fc.property(fc.array(rangeArb, { minLength: 1, maxLength: 4 }), (windows) => {
        const { pieces, parts } = partition(windows);
        pieces.slice(1).forEach((p, i) => expect(p.from).toBeGreaterThanOrEqual(pieces[i]!.to));
        windows.forEach((w, k) => expect(parts[k]!.reduce((n, i) => n + pieces[i]!.to - pieces[i]!.from, 0)).toBe(w.to - w.from));
      }),
    );
  });
});
