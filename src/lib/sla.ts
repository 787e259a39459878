import type { ServiceStatus } from './status-history.js';

/**
 * SLA arithmetic on status timelines, as api.md defines it. Times are epoch
 * milliseconds; every range is half-open [from, to). Pure functions: services
 * load history and call these.
 */

export type Availability = 'UP' | 'DOWN' | 'NEITHER';

export function availability(status: ServiceStatus | null): Availability {
  switch (status) {
    case 'OPERATIONAL':
    case 'DEGRADED':
      return 'UP';
    case 'PARTIAL_OUTAGE':
    case 'MAJOR_OUTAGE':
      return 'DOWN';
    default:
      return 'NEITHER';
  }
}

export interface Segment {
  from: number;
  to: number;
  status: ServiceStatus | null;
}

/**
 * The timeline of one service over [from, to) from its change points (sorted,
 * as the history stores them) and the instant of its newest report: after the
 * last change, the status holds until `lastSeen + staleMs`, then UNKNOWN (the
 * sweeper writes that row later; the answer must not wait for it). Before the
 * first change there is no data (status null).
 */
export function timeline(changes: readonly { at: number; status: ServiceStatus }[], range: { from: number; to: number }, tail?: { lastSeen: number | null; staleMs: number }): Segment[] {
  const points: { at: number; status: ServiceStatus | null }[] = [...changes];
  const last = changes.at(-1);
  if (tail && last && last.status !== 'UNKNOWN' && tail.lastSeen !== null) {
    const staleAt = tail.lastSeen + tail.staleMs;
    if (staleAt > last.at) points.push({ at: staleAt, status: 'UNKNOWN' });
  }
  const segments: Segment[] = [];
  let current: ServiceStatus | null = null;
  let cursor = range.from;
  for (const p of points) {
    if (p.at <= range.from) {
      current = p.status;
      continue;
    }
    if (p.at >= range.to) break;
    if (p.at > cursor) segments.push({ from: cursor, to: p.at, status: current });
    cursor = p.at;
    current = p.status;
  }
  if (range.to > cursor) segments.push({ from: cursor, to: range.to, status: current });
  return merge(segments);
}

function merge(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    const prev = out.at(-1);
    if (prev && prev.status === s.status && prev.to === s.from) prev.to = s.to;
    else out.push({ ...s });
  }
  return out;
}

export interface Durations {
  upMs: number;
  downMs: number;
}

export function durations(segments: readonly Segment[], range?: { from: number; to: number }): Durations {
  let upMs = 0;
  let downMs = 0;
  for (const s of segments) {
    const from = range ? Math.max(s.from, range.from) : s.from;
    const to = range ? Math.min(s.to, range.to) : s.to;
    if (to <= from) continue;
    const a = availability(s.status);
    if (a === 'UP') upMs += to - from;
    else if (a === 'DOWN') downMs += to - from;
  }
  return { upMs, downMs };
}

/**
 * Up and down time of each of `ranges` (sorted, not overlapping) in one pass over the segments,
 * instead of one pass per range: a three-month daily trend of thousands of services stays linear.
 */
export function durationsPerRange(segments: readonly Segment[], ranges: readonly { from: number; to: number }[]): Durations[] {
  const out = ranges.map(() => ({ upMs: 0, downMs: 0 }));
  let r = 0;
  for (const s of segments) {
    const a = availability(s.status);
    if (a === 'NEITHER') continue;
    while (r < ranges.length && ranges[r]!.to <= s.from) r++;
    for (let k = r; k < ranges.length && ranges[k]!.from < s.to; k++) {
      const from = Math.max(s.from, ranges[k]!.from);
      const to = Math.min(s.to, ranges[k]!.to);
      if (to <= from) continue;
      if (a === 'UP') out[k]!.upMs += to - from;
      else out[k]!.downMs += to - from;
    }
  }
  return out;
}

/** 100 × up / (up + down); null when neither. */
export function uptime(d: Durations): number | null {
  const total = d.upMs + d.downMs;
  return total === 0 ? null : (100 * d.upMs) / total;
}

/**
 * A group's timeline: down while any member is down, up while every member with
 * data is up (and at least one is), neither otherwise.
 */
export function groupTimeline(members: readonly Segment[][], range: { from: number; to: number }): { from: number; to: number; state: Availability }[] {
  const cuts = new Set<number>([range.from, range.to]);
  for (const m of members) for (const s of m) if (s.from > range.from && s.from < range.to) cuts.add(s.from);
  const instants = [...cuts].sort((a, b) => a - b);
  const cursors = members.map(() => 0);
  const out: { from: number; to: number; state: Availability }[] = [];
  for (let i = 0; i < instants.length - 1; i++) {
    const from = instants[i]!;
    const to = instants[i + 1]!;
    let anyDown = false;
    let anyUp = false;
    members.forEach((segments, k) => {
      while (cursors[k]! < segments.length && segments[cursors[k]!]!.to <= from) cursors[k]!++;
      const s = segments[cursors[k]!];
      const a = s && s.from <= from ? availability(s.status) : 'NEITHER';
      if (a === 'DOWN') anyDown = true;
      if (a === 'UP') anyUp = true;
    });
    const state: Availability = anyDown ? 'DOWN' : anyUp ? 'UP' : 'NEITHER';
    const prev = out.at(-1);
    if (prev && prev.state === state) prev.to = to;
    else out.push({ from, to, state });
  }
  return out;
}

export type PeriodStatus = 'MET' | 'AT_RISK' | 'BREACHED' | 'NO_DATA';

/**
 * Status of a period of length `periodMs` with target `target` %, from its up
 * and down time so far: the budget is (1 − T/100) × length; BREACHED above it,
 * AT_RISK from 75 % of it, MET below; NO_DATA without up or down time.
 */
export function periodStatus(d: Durations, periodMs: number, target: number): { status: PeriodStatus; allowedMs: number; consumedMs: number; remainingMs: number } {
  const allowedMs = (1 - target / 100) * periodMs;
  const consumedMs = d.downMs;
  const remainingMs = Math.max(0, allowedMs - consumedMs);
  if (d.upMs + d.downMs === 0) return { status: 'NO_DATA', allowedMs, consumedMs, remainingMs };
  const status = consumedMs > allowedMs ? 'BREACHED' : consumedMs >= 0.75 * allowedMs ? 'AT_RISK' : 'MET';
  return { status, allowedMs, consumedMs, remainingMs };
}

/** Incidents: open when a service goes from up or no data to down; closed by the next up. UNKNOWN and MAINTENANCE do not close one. */
export function incidents(segments: readonly Segment[]): { startedAt: number; endedAt: number | null }[] {
  const out: { startedAt: number; endedAt: number | null }[] = [];
  let open: { startedAt: number; endedAt: number | null } | null = null;
  let wasUpOrNoData = true;
  for (const s of segments) {
    const a = availability(s.status);
    if (a === 'DOWN' && !open && wasUpOrNoData) {
      open = { startedAt: s.from, endedAt: null };
      out.push(open);
    } else if (a === 'UP' && open) {
      open.endedAt = s.from;
      open = null;
    }
    if (a === 'UP' || s.status === null) wasUpOrNoData = true;
    else if (a === 'DOWN') wasUpOrNoData = false;
  }
  return out;
}

/** UTC bucket boundaries. */
export const FIVE_MINUTES = 300_000;

export function bucketStart(t: number, size: 'FIVE_MINUTES' | 'DAY' | 'MONTH'): number {
  if (size === 'FIVE_MINUTES') return Math.floor(t / FIVE_MINUTES) * FIVE_MINUTES;
  const d = new Date(t);
  if (size === 'DAY') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextBucket(start: number, size: 'FIVE_MINUTES' | 'DAY' | 'MONTH'): number {
  if (size === 'FIVE_MINUTES') return start + FIVE_MINUTES;
  const d = new Date(start);
  if (size === 'DAY') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Buckets covering [from, to), oldest first, the last one possibly still open. */
export function buckets(range: { from: number; to: number }, size: 'FIVE_MINUTES' | 'DAY' | 'MONTH'): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (let b = bucketStart(range.from, size); b < range.to; b = nextBucket(b, size)) out.push({ from: b, to: nextBucket(b, size) });
  return out;
}

export interface Totals extends Durations {
  /** Incidents that started in the range. */
  incidents: number;
}

export const zeroTotals = (): Totals => ({ upMs: 0, downMs: 0, incidents: 0 });

export function addTotals(into: Totals, t: Totals): Totals {
  into.upMs += t.upMs;
  into.downMs += t.downMs;
  into.incidents += t.incidents;
  return into;
}

/** Up time, down time and incident starts of one timeline in each of `ranges` (sorted, not overlapping). */
export function totalsPerRange(segments: readonly Segment[], ranges: readonly { from: number; to: number }[]): Totals[] {
  const starts = incidents(segments).map((i) => i.startedAt);
  return durationsPerRange(segments, ranges).map((d, i) => ({ ...d, incidents: starts.filter((t) => t >= ranges[i]!.from && t < ranges[i]!.to).length }));
}

/** A group's timeline as segments: up as OPERATIONAL, down as MAJOR_OUTAGE, neither as no data. */
export function groupSegments(members: readonly Segment[][], range: { from: number; to: number }): Segment[] {
  return groupTimeline(members, range).map((s) => ({ from: s.from, to: s.to, status: s.state === 'UP' ? 'OPERATIONAL' : s.state === 'DOWN' ? 'MAJOR_OUTAGE' : null }));
}

export const DAY_MS = 86_400_000;

/**
 * Which part of `range` the daily rollups answer and which part must be computed from history,
 * given that a subject's rollups are exact for the whole UTC days before `validUntil` (null: none are).
 * Rollups cover whole days only, so a range starting or ending inside a day has that part live.
 */
export function splitStored(range: { from: number; to: number }, validUntil: number | null): { stored: { from: number; to: number } | null; live: { from: number; to: number }[] } {
  const first = Math.ceil(range.from / DAY_MS) * DAY_MS;
  const end = validUntil === null ? first : Math.min(Math.floor(range.to / DAY_MS) * DAY_MS, validUntil);
  if (end <= first) return { stored: null, live: range.to > range.from ? [range] : [] };
  const live: { from: number; to: number }[] = [];
  if (range.from < first) live.push({ from: range.from, to: first });
  if (end < range.to) live.push({ from: end, to: range.to });
  return { stored: { from: first, to: end }, live };
}

/** Adjacent or overlapping ranges joined, sorted. */
export function mergeRanges(ranges: readonly { from: number; to: number }[]): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (const r of [...ranges].sort((a, b) => a.from - b.from)) {
    const prev = out.at(-1);
    if (prev && r.from <= prev.to) prev.to = Math.max(prev.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/**
 * Overlapping windows (the month so far, the last 30 days) cut into disjoint pieces, with which
 * pieces make up each window: each piece is measured once and the windows are sums of pieces.
 */
export function partition(windows: readonly { from: number; to: number }[]): { pieces: { from: number; to: number }[]; parts: number[][] } {
  const cuts = [...new Set(windows.flatMap((w) => [w.from, w.to]))].sort((a, b) => a - b);
  const pieces: { from: number; to: number }[] = [];
  for (let i = 0; i < cuts.length - 1; i++) {
    const p = { from: cuts[i]!, to: cuts[i + 1]! };
    if (windows.some((w) => w.from <= p.from && p.to <= w.to)) pieces.push(p);
  }
  return { pieces, parts: windows.map((w) => pieces.flatMap((p, i) => (w.from <= p.from && p.to <= w.to ? [i] : []))) };
}
