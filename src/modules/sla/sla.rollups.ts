import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import { inTransaction, sqlOf, type Sql } from '../../infra/sql.js';
import { addTotals, bucketStart, buckets, DAY_MS, splitStored, zeroTotals, type Totals } from '../../lib/sla.js';
import { totalsFromHistory, type MeasuredSubject } from './sla.history.js';


/** What the rollups of a subject are worth: exact for the days before `validUntil`, and for a group only with these members. */
export interface RollupState {
  validUntil: number;
  seq: number;
  membersHash: string | null;
}

export const membersHash = (ids: readonly string[]) => createHash('sha256').update([...ids].sort().join(',')).digest('base64url');

/**
 * A report landed in a closed day: the rollups of its services and their groups are no longer
 * exact from that day on. Rows are locked in id order, as the materializer locks them.
 */
export async function invalidateRollups(db: Sql, subjects: readonly { id: string; scope: 'SERVICE' | 'GROUP' }[], day: Date, now: Date): Promise<void> {
  if (!subjects.length) return;
  await db.query({
    name: 'opsgraph.rollups.invalidate',
    // A subject without a state yet gets one from its first day (this transaction sees the history it
    // just wrote): its rows must run without a gap from there. A group's is recomputed in full anyway.
    text: `INSERT INTO "SlaRollupState" AS s ("subjectId", scope, "validUntil", seq, "updatedAt")
       SELECT id, scope, LEAST($3::timestamptz, COALESCE((SELECT date_trunc('day', min(c.at), 'UTC') FROM "StatusChange" c WHERE c."serviceId" = i.id), $3::timestamptz)), 1, $4::timestamptz
       FROM unnest($1::uuid[], $2::text[]) AS i(id, scope) ORDER BY id
       ON CONFLICT ("subjectId") DO UPDATE SET "validUntil" = LEAST(s."validUntil", $3::timestamptz), seq = s.seq + 1, "updatedAt" = EXCLUDED."updatedAt"`,
    values: [subjects.map((s) => s.id), subjects.map((s) => s.scope), day, now],
  });
}

export async function rollupStates(db: Sql, ids: readonly string[]): Promise<Map<string, RollupState>> {
  if (!ids.length) return new Map();
  const rows = await db.query<{ subjectId: string; validUntil: Date; seq: number; membersHash: string | null }>(
    `SELECT "subjectId", "validUntil", seq, "membersHash" FROM "SlaRollupState" WHERE "subjectId" = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.subjectId, { validUntil: r.validUntil.getTime(), seq: r.seq, membersHash: r.membersHash }]));
}

/**
 * Sums of the stored days of each subject in each of `ranges` (sorted, not overlapping): the days
 * `splitStored` says are stored, given each subject's `validUntil` as the caller read it, so the
 * caller computes exactly the rest from history. `pooled` adds all subjects up under the key '*'.
 */
export async function storedTotals(db: Sql, subjects: readonly { id: string; validUntil: number }[], ranges: readonly { from: number; to: number }[], pooled: boolean): Promise<Map<string, Totals[]>> {
  if (!subjects.length || !ranges.length) return new Map();
  return ranges.length <= FEW_RANGES ? fromRunningTotals(db, subjects, ranges, pooled) : fromDays(db, subjects, ranges, pooled);
}

/** Windows over many subjects (a month, 30 days): two running-total lookups per subject and window. */
const FEW_RANGES = 4;

async function fromRunningTotals(db: Sql, subjects: readonly { id: string; validUntil: number }[], ranges: readonly { from: number; to: number }[], pooled: boolean): Promise<Map<string, Totals[]>> {
  // Per subject and range, the stored span [from, to): the totals are cum(day before to) − cum(day before
  // from). Stored days run without a gap from a subject's first day, so no row there means nothing before.
  const spans = subjects.map((s) => ranges.map((r) => splitStored(r, s.validUntil).stored));
  const bounds = [...new Set(spans.flat().flatMap((sp) => (sp ? [sp.from, sp.to] : [])))].sort((a, b) => a - b);
  const out = new Map<string, Totals[]>();
  if (!bounds.length) return out;
  const rows = await db.query<{ subjectId: string; bound: string; up: string; down: string; incidents: number }>({
    name: 'opsgraph.rollups.running',
    text: `SELECT s.id AS "subjectId", (extract(epoch FROM r.day) * 1000)::bigint + ${DAY_MS} AS bound, r."cumUpMs" AS up, r."cumDownMs" AS down, r."cumIncidents" AS incidents
       FROM unnest($1::uuid[]) AS s(id) CROSS JOIN unnest($2::timestamptz[]) AS b(day)
       JOIN "SlaRollup" r ON r."subjectId" = s.id AND r.day = b.day`,
    // The day before each bound, computed here: interval arithmetic would follow the session's time zone.
    values: [subjects.map((s) => s.id), bounds.map((b) => new Date(b - DAY_MS))],
  });
  const before = new Map(rows.map((r) => [`${r.subjectId}:${r.bound}`, { upMs: Number(r.up), downMs: Number(r.down), incidents: r.incidents }]));
  const cum = (id: string, at: number) => before.get(`${id}:${at}`) ?? zeroTotals();
  subjects.forEach((s, k) => {
    const totals = spans[k]!.map((sp) => {
      if (!sp) return zeroTotals();
      const [a, b] = [cum(s.id, sp.from), cum(s.id, sp.to)];
      return { upMs: b.upMs - a.upMs, downMs: b.downMs - a.downMs, incidents: b.incidents - a.incidents };
    });
    const key = pooled ? '*' : s.id;
    if (!out.has(key)) out.set(key, ranges.map(() => zeroTotals()));
    out.get(key)!.forEach((t, i) => addTotals(t, totals[i]!));
  });
  return out;
}

/** Buckets (a daily or monthly trend): the stored days summed by the database per day, then put in their bucket. */
async function fromDays(db: Sql, subjects: readonly { id: string; validUntil: number }[], ranges: readonly { from: number; to: number }[], pooled: boolean): Promise<Map<string, Totals[]>> {
  const out = new Map<string, Totals[]>();
  // Grouped by the day itself (a hash of a few hundred keys), not by an expression over the buckets.
  const rows = await db.query<{ subjectId: string | null; day: string; up: string; down: string; incidents: string }>(
    `SELECT ${pooled ? 'NULL::uuid' : 'x."subjectId"'} AS "subjectId", (extract(epoch FROM x.day) * 1000)::bigint AS day,
            sum(x."upMs") AS up, sum(x."downMs") AS down, sum(x.incidents) AS incidents
     FROM unnest($1::uuid[], $2::timestamptz[]) AS s(id, valid)
     JOIN "SlaRollup" x ON x."subjectId" = s.id AND x.day < s.valid AND x.day >= $3 AND x.day < $4
     GROUP BY 1, 2`,
    [subjects.map((s) => s.id), subjects.map((s) => new Date(s.validUntil)), new Date(ranges[0]!.from), new Date(ranges.at(-1)!.to)],
  );
  for (const r of rows) {
    const day = Number(r.day);
    const i = bucketOf(ranges, day);
    // A stored day counts only when it lies wholly inside a range (splitStored measures the rest live).
    if (i < 0 || day < ranges[i]!.from || day + DAY_MS > ranges[i]!.to) continue;
    const key = r.subjectId ?? '*';
    if (!out.has(key)) out.set(key, ranges.map(() => zeroTotals()));
    addTotals(out.get(key)![i]!, { upMs: Number(r.up), downMs: Number(r.down), incidents: Number(r.incidents) });
  }
  return out;
}

/** The index of the last range starting at or before `t` (ranges sorted), or -1. */
function bucketOf(ranges: readonly { from: number }[], t: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]!.from <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

const BATCH = 500;
/**
 * A day is closed this long after its midnight: a report stamped just before midnight may still be in a
 * transaction that started before it (or come from an instance whose clock is a little behind).
 */
const CLOSE_AFTER_MS = 5 * 60_000;
const MAX_PASSES = 40;

/**
 * The `sla.materialize` job: daily rollups of every service and group, up to the start of today,
 * recomputed from the first day a late report touched. A batch is written only if no report
 * invalidated it meanwhile and no other worker wrote it first (compare-and-set on the state rows,
 * locked in id order), so two workers write each day once and a concurrent late report is never lost.
 */
export function createRollups(deps: { pool: pg.Pool; clock: Clock; logger: Logger; staleMs: number }) {
  const sql = sqlOf(deps.pool);
  async function write(batch: { subject: MeasuredSubject; state: RollupState; hash: string | null; days: { from: number; to: number }[]; totals: Totals[] }[], today: Date, now: Date): Promise<number> {
    return inTransaction(deps.pool, async (db) => {
      const rows = await db.query<{ subjectId: string; validUntil: Date; seq: number; membersHash: string | null }>(
        `SELECT "subjectId", "validUntil", seq, "membersHash" FROM "SlaRollupState" WHERE "subjectId" = ANY($1::uuid[]) ORDER BY "subjectId" FOR UPDATE`,
        [batch.map((b) => b.subject.id)],
      );
      const current = new Map(rows.map((r) => [r.subjectId, r]));
      const winners = batch.filter((b) => {
        const c = current.get(b.subject.id);
        return c && c.seq === b.state.seq && c.validUntil.getTime() === b.state.validUntil && c.membersHash === b.state.membersHash;
      });
      if (!winners.length) return 0;
      // A group recomputed for new members starts over: days before its new first day are gone.
      const restarted = winners.filter((b) => b.hash !== b.state.membersHash);
      if (restarted.length) {
        await db.query(`DELETE FROM "SlaRollup" r USING unnest($1::uuid[], $2::timestamptz[]) AS f(id, day) WHERE r."subjectId" = f.id AND r.day < f.day`, [
          restarted.map((b) => b.subject.id),
          restarted.map((b) => new Date(b.days[0]?.from ?? today.getTime())),
        ]);
      }
      // Running totals continue from the last day kept before the recomputed ones.
      const bases = await db.query<{ subjectId: string; up: string; down: string; incidents: number }>(
        `SELECT f.id AS "subjectId", r."cumUpMs" AS up, r."cumDownMs" AS down, r."cumIncidents" AS incidents
         FROM unnest($1::uuid[], $2::timestamptz[]) AS f(id, day)
         JOIN LATERAL (SELECT * FROM "SlaRollup" x WHERE x."subjectId" = f.id AND x.day < f.day ORDER BY x.day DESC LIMIT 1) r ON true`,
        [winners.map((b) => b.subject.id), winners.map((b) => new Date(b.days[0]?.from ?? today.getTime()))],
      );
      const base = new Map(bases.map((r) => [r.subjectId, { upMs: Number(r.up), downMs: Number(r.down), incidents: r.incidents }]));
      const cells = winners.flatMap((b) => {
        const cum = { ...(base.get(b.subject.id) ?? zeroTotals()) };
        return b.days.map((d, i) => {
          const t = { upMs: Math.round(b.totals[i]!.upMs), downMs: Math.round(b.totals[i]!.downMs), incidents: b.totals[i]!.incidents };
          return { id: b.subject.id, day: new Date(d.from), t, cum: { ...addTotals(cum, t) } };
        });
      });
      // Unchanged days are not rewritten: recomputing a day the report did not change costs no write.
      await db.query(
        `INSERT INTO "SlaRollup" AS r ("subjectId", day, "upMs", "downMs", incidents, "cumUpMs", "cumDownMs", "cumIncidents")
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::int[], $6::bigint[], $7::bigint[], $8::int[])
         ON CONFLICT ("subjectId", day) DO UPDATE SET "upMs" = EXCLUDED."upMs", "downMs" = EXCLUDED."downMs", incidents = EXCLUDED.incidents,
           "cumUpMs" = EXCLUDED."cumUpMs", "cumDownMs" = EXCLUDED."cumDownMs", "cumIncidents" = EXCLUDED."cumIncidents"
         WHERE (r."upMs", r."downMs", r.incidents, r."cumUpMs", r."cumDownMs", r."cumIncidents")
           IS DISTINCT FROM (EXCLUDED."upMs", EXCLUDED."downMs", EXCLUDED.incidents, EXCLUDED."cumUpMs", EXCLUDED."cumDownMs", EXCLUDED."cumIncidents")`,
        [
          cells.map((c) => c.id),
          cells.map((c) => c.day),
          cells.map((c) => c.t.upMs),
          cells.map((c) => c.t.downMs),
          cells.map((c) => c.t.incidents),
          cells.map((c) => c.cum.upMs),
          cells.map((c) => c.cum.downMs),
          cells.map((c) => c.cum.incidents),
        ],
      );
      await db.query(
        `UPDATE "SlaRollupState" s SET "validUntil" = $2, "membersHash" = w.hash, "updatedAt" = $3
         FROM unnest($1::uuid[], $4::text[]) AS w(id, hash) WHERE s."subjectId" = w.id`,
        [winners.map((b) => b.subject.id), today, now, winners.map((b) => b.hash)],
      );
      return cells.length;
    });
  }

  /** Subjects grouped by the day they are exact until, so each group is one history read. */
  async function materializeBatch(subjects: { subject: MeasuredSubject; state: RollupState; hash: string | null; from: number }[], today: Date, now: Date): Promise<number> {
    const byFrom = new Map<number, typeof subjects>();
    for (const s of subjects) byFrom.set(s.from, [...(byFrom.get(s.from) ?? []), s]);
    let written = 0;
    for (const [from, list] of byFrom) {
      const days = buckets({ from, to: today.getTime() }, 'DAY');
      const totals = days.length ? await totalsFromHistory(sql, deps.staleMs, list.map((s) => s.subject), { from, to: today.getTime() }, days) : new Map<string, Totals[]>();
      written += await write(list.map((s) => ({ ...s, days, totals: totals.get(s.subject.id) ?? [] })), today, now);
    }
    return written;
  }

  return {
    async materialize(): Promise<{ services: number; groups: number; days: number }> {
      const now = deps.clock.now();
      const today = new Date(bucketStart(now.getTime() - CLOSE_AFTER_MS, 'DAY'));
      // Subjects seen for the first time are exact until the day their history starts.
      await sql.query(
        // In id order, as ingest inserts them: the two never wait on each other crosswise.
        `INSERT INTO "SlaRollupState" ("subjectId", scope, "validUntil", "updatedAt")
         SELECT * FROM (
           SELECT s.id, 'SERVICE', COALESCE(date_trunc('day', (SELECT min(at) FROM "StatusChange" c WHERE c."serviceId" = s.id), 'UTC'), $1::timestamptz), $2::timestamptz
           FROM "Service" s WHERE NOT EXISTS (SELECT 1 FROM "SlaRollupState" r WHERE r."subjectId" = s.id)
           UNION ALL
           SELECT g.id, 'GROUP', $1::timestamptz, $2::timestamptz FROM "SlaGroup" g WHERE NOT EXISTS (SELECT 1 FROM "SlaRollupState" r WHERE r."subjectId" = g.id)
         ) AS n(id, scope, valid, at) ORDER BY id
         ON CONFLICT ("subjectId") DO NOTHING`,
        [today, now],
      );
      let services = 0;
      let days = 0;
      const passed = new Set<string>();
      // Late reports can keep re-opening days while this runs; the next run picks those up.
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const rows = await sql.query<{ id: string; validUntil: Date; seq: number; lastSeenAt: Date | null }>(
          // Those another worker (or a report) took from this run are left to the next run.
          `SELECT r."subjectId" AS id, r."validUntil", r.seq, s."lastSeenAt" FROM "SlaRollupState" r JOIN "Service" s ON s.id = r."subjectId"
           WHERE r."validUntil" < $1 AND r."subjectId" <> ALL($2::uuid[]) ORDER BY r."validUntil", r."subjectId" LIMIT ${BATCH}`,
          [today, [...passed]],
        );
        if (!rows.length) break;
        days += await materializeBatch(
          rows.map((r) => ({
            subject: { id: r.id, group: false, members: [{ id: r.id, lastSeen: r.lastSeenAt?.getTime() ?? null }] },
            state: { validUntil: r.validUntil.getTime(), seq: r.seq, membersHash: null },
            hash: null,
            from: r.validUntil.getTime(),
          })),
          today,
          now,
        );
        services += rows.length;
        for (const r of rows) passed.add(r.id);
        if (rows.length < BATCH) break;
      }
      // Groups: behind, or computed from other members than they have now (a service joined or left).
      const groups = await sql.query<{ id: string; validUntil: Date; seq: number; membersHash: string | null; members: { id: string; lastSeen: string | null; first: string | null }[] }>(
        `SELECT r."subjectId" AS id, r."validUntil", r.seq, r."membersHash",
                COALESCE(json_agg(json_build_object('id', s.id, 'lastSeen', s."lastSeenAt", 'first', (SELECT min(at) FROM "StatusChange" c WHERE c."serviceId" = s.id))) FILTER (WHERE s.id IS NOT NULL), '[]') AS members
         FROM "SlaRollupState" r JOIN "SlaGroup" g ON g.id = r."subjectId" LEFT JOIN "Service" s ON s."slaGroupId" = g.id
         GROUP BY r."subjectId", r."validUntil", r.seq, r."membersHash"`,
      );
      const dirty = groups.flatMap((g) => {
        const hash = membersHash(g.members.map((m) => m.id));
        const firsts = g.members.flatMap((m) => (m.first ? [bucketStart(Date.parse(m.first), 'DAY')] : []));
        const from = hash === g.membersHash ? g.validUntil.getTime() : Math.min(today.getTime(), ...firsts);
        if (hash === g.membersHash && from >= today.getTime()) return [];
        return [{
          subject: { id: g.id, group: true, members: g.members.map((m) => ({ id: m.id, lastSeen: m.lastSeen ? Date.parse(m.lastSeen) : null })) },
          state: { validUntil: g.validUntil.getTime(), seq: g.seq, membersHash: g.membersHash },
          hash,
          from,
        }];
      });
      for (let i = 0; i < dirty.length; i += BATCH / 10) days += await materializeBatch(dirty.slice(i, i + BATCH / 10), today, now);
      if (services || dirty.length) deps.logger.info({ services, groups: dirty.length, days }, 'SLA rollups materialized');
      return { services, groups: dirty.length, days };
    },
  };
}

export type Rollups = ReturnType<typeof createRollups>;
