import type { Sql } from '../../infra/sql.js';
import { groupSegments, timeline, totalsPerRange, zeroTotals, type Segment, type Totals } from '../../lib/sla.js';
import type { ServiceStatus } from '../../lib/status-history.js';


/**
 * The change points of `ids` from the last UP change at or before `from` (or the first change):
 * an incident can only have started after it, so whatever is computed from here on (uptime,
 * incidents) is exact for any range starting at `from`.
 */
export async function historySince(db: Sql, ids: readonly string[], from: Date, to?: Date): Promise<Map<string, { at: number; status: ServiceStatus }[]>> {
  // Named: planned once per connection. Instants come back as epoch milliseconds, cheaper to read than dates.
  const rows = await db.query<{ serviceId: string; at: string; status: ServiceStatus }>({
    name: 'opsgraph.sla.history',
    text: `WITH anchor AS (
       SELECT s.id, COALESCE(
         (SELECT max(at) FROM "StatusChange" c WHERE c."serviceId" = s.id AND c.at <= $2 AND c.status IN ('OPERATIONAL', 'DEGRADED')),
         (SELECT min(at) FROM "StatusChange" c WHERE c."serviceId" = s.id),
         $2) AS at
       FROM unnest($1::uuid[]) AS s(id))
     SELECT c."serviceId", (extract(epoch FROM c.at) * 1000)::bigint AS at, c.status FROM "StatusChange" c JOIN anchor a ON a.id = c."serviceId"
     WHERE c.at >= a.at AND c.at < $3::timestamptz ORDER BY c."serviceId", c.at`,
    // Never NULL for "no end": the plan is cached for the statement, and must bound the index scan.
    values: [ids, from, to ?? 'infinity'],
  });
  const out = new Map<string, { at: number; status: ServiceStatus }[]>(ids.map((id) => [id, []]));
  for (const r of rows) out.get(r.serviceId)!.push({ at: Number(r.at), status: r.status });
  return out;
}

/** A service, or a group with its member services; `lastSeen` is each service's newest report. */
export interface MeasuredSubject {
  id: string;
  group: boolean;
  members: readonly { id: string; lastSeen: number | null }[];
}

export type Timelines = Map<string, { segments: Segment[]; start: number }>;

/** The timelines of `members` (service id → newest report) over `piece`, from one read of the history. */
export async function timelinesFromHistory(db: Sql, staleMs: number, members: ReadonlyMap<string, number | null>, piece: { from: number; to: number }): Promise<Timelines> {
  const changes = await historySince(db, [...members.keys()], new Date(piece.from), new Date(piece.to));
  const timelines: Timelines = new Map();
  for (const [id, lastSeen] of members) {
    const list = changes.get(id)!;
    const start = Math.min(piece.from, list[0]?.at ?? piece.from);
    timelines.set(id, { segments: timeline(list, { from: start, to: piece.to }, { lastSeen, staleMs }), start });
  }
  return timelines;
}

export const membersOf = (subjects: readonly MeasuredSubject[]) => new Map(subjects.flatMap((s) => s.members.map((m) => [m.id, m.lastSeen] as const)));

/** Totals of each subject in each of `ranges` (sorted, not overlapping) within `piece`, from timelines covering it. */
export function totalsOf(subjects: readonly MeasuredSubject[], timelines: Timelines, piece: { from: number; to: number }, ranges: readonly { from: number; to: number }[]): Map<string, Totals[]> {
  const clipped = ranges.map((r) => ({ from: Math.max(r.from, piece.from), to: Math.min(r.to, piece.to) }));
  const inside = clipped.flatMap((r, i) => (r.to > r.from ? [i] : []));
  const out = new Map<string, Totals[]>();
  for (const s of subjects) {
    const own = s.members.map((m) => timelines.get(m.id)!);
    const segments = s.group ? groupSegments(own.map((t) => t.segments), { from: Math.min(piece.from, ...own.map((t) => t.start)), to: piece.to }) : (own[0]?.segments ?? []);
    const measured = totalsPerRange(segments, inside.map((i) => clipped[i]!));
    const totals = ranges.map(() => zeroTotals());
    inside.forEach((i, k) => (totals[i] = measured[k]!));
    out.set(s.id, totals);
  }
  return out;
}

/**
 * Totals of each subject in each of `ranges` (sorted, not overlapping) within `piece`, computed from
 * the status history: one read for all subjects, then the pure timeline math of lib/sla.ts.
 */
export async function totalsFromHistory(db: Sql, staleMs: number, subjects: readonly MeasuredSubject[], piece: { from: number; to: number }, ranges: readonly { from: number; to: number }[]): Promise<Map<string, Totals[]>> {
  return totalsOf(subjects, await timelinesFromHistory(db, staleMs, membersOf(subjects), piece), piece, ranges);
}
