import type { IncidentEvent } from './sla.events.js';
import { createHash } from 'node:crypto';
import type { Sql } from '../../infra/sql.js';
import { incidents, timeline } from '../../lib/sla.js';
import { historySince } from './sla.history.js';


export interface IncidentRecord {
  id: string;
  serviceId: string;
  slaGroupId: string | null;
  startedAt: Date;
  endedAt: Date | null;
}


/** An incident's id follows from its service and start, so recomputing it keeps its identity. */
export function incidentId(serviceId: string, startedAt: number): string {
  const h = createHash('sha256').update(`${serviceId}|${startedAt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Incidents of services whose history only grew at its end: a service entering down opens one
 * unless one is open (an UNKNOWN or MAINTENANCE stretch does not close it), a service entering up
 * closes the open one. One statement, without reading the history; late reports use `syncIncidents`.
 */
export async function followIncidents(db: Sql, moves: readonly { serviceId: string; slaGroupId: string | null; at: number; enters: 'UP' | 'DOWN' }[]): Promise<IncidentEvent[]> {
  if (!moves.length) return [];
  const rows = await db.query<{ action: 'OPENED' | 'CLOSED'; id: string; serviceId: string; startedAt: Date; endedAt: Date | null }>({
    name: 'opsgraph.incidents.follow',
    text: `WITH moves AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::uuid[]) AS m(service_id, at, enters, new_id)),
       closed AS (
         UPDATE "Incident" i SET "endedAt" = m.at FROM moves m
         WHERE m.enters = 'UP' AND i."serviceId" = m.service_id AND i."endedAt" IS NULL
         RETURNING i.id, i."serviceId", i."startedAt", i."endedAt"),
       opened AS (
         INSERT INTO "Incident" (id, "serviceId", "startedAt", "endedAt")
         SELECT m.new_id, m.service_id, m.at, NULL FROM moves m
         WHERE m.enters = 'DOWN' AND NOT EXISTS (SELECT 1 FROM "Incident" i WHERE i."serviceId" = m.service_id AND i."endedAt" IS NULL)
         ON CONFLICT (id) DO NOTHING
         RETURNING id, "serviceId", "startedAt", "endedAt")
     SELECT 'CLOSED' AS action, * FROM closed UNION ALL SELECT 'OPENED', * FROM opened`,
    values: [moves.map((m) => m.serviceId), moves.map((m) => new Date(m.at)), moves.map((m) => m.enters), moves.map((m) => incidentId(m.serviceId, m.at))],
  });
  const groups = new Map(moves.map((m) => [m.serviceId, m.slaGroupId]));
  return rows.map((r) => ({ action: r.action, incident: { id: r.id, serviceId: r.serviceId, slaGroupId: groups.get(r.serviceId) ?? null, startedAt: r.startedAt, endedAt: r.endedAt } }));
}

/**
 * Brings the stored incidents of `services` in line with their history from `from` on, inside
 * the caller's transaction, and says which opened or closed. Idempotent: a second run with the
 * same history changes nothing.
 */
export async function syncIncidents(db: Sql, services: readonly { id: string; slaGroupId: string | null }[], from: Date): Promise<IncidentEvent[]> {
  if (!services.length) return [];
  const ids = services.map((s) => s.id);
  const history = await historySince(db, ids, from);
  const anchors = ids.map((id) => new Date(history.get(id)![0]?.at ?? from.getTime()));
  const stored = await db.query<{ id: string; serviceId: string; startedAt: Date; endedAt: Date | null }>(
    `SELECT i.id, i."serviceId", i."startedAt", i."endedAt" FROM "Incident" i
     JOIN unnest($1::uuid[], $2::timestamptz[]) AS a(id, at) ON a.id = i."serviceId" AND i."startedAt" >= a.at`,
    [ids, anchors],
  );
  const storedById = new Map(stored.map((r) => [r.id, r]));
  const events: IncidentEvent[] = [];
  const upserts: IncidentRecord[] = [];
  const keep = new Set<string>();
  for (const s of services) {
    const changes = history.get(s.id)!;
    if (!changes.length) continue;
    const segments = timeline(changes, { from: changes[0]!.at, to: changes.at(-1)!.at + 1 });
    for (const i of incidents(segments)) {
      const record: IncidentRecord = { id: incidentId(s.id, i.startedAt), serviceId: s.id, slaGroupId: s.slaGroupId, startedAt: new Date(i.startedAt), endedAt: i.endedAt === null ? null : new Date(i.endedAt) };
      keep.add(record.id);
      const before = storedById.get(record.id);
      if (before && (before.endedAt?.getTime() ?? null) === (record.endedAt?.getTime() ?? null)) continue;
      upserts.push(record);
      if (!before) events.push({ incident: record, action: 'OPENED' });
      if (record.endedAt && !before?.endedAt) events.push({ incident: record, action: 'CLOSED' });
      if (!record.endedAt && before?.endedAt) events.push({ incident: record, action: 'OPENED' });
    }
  }
  // A late report can revise an incident away (its start moved, or it never was): it is announced as
  // closed, so whatever followed it (an automatic ticket) is closed too; the revised one is announced opened.
  const groupOf = new Map(services.map((s) => [s.id, s.slaGroupId]));
  const gone = stored.filter((r) => !keep.has(r.id));
  for (const r of gone) {
    events.push({ incident: { id: r.id, serviceId: r.serviceId, slaGroupId: groupOf.get(r.serviceId) ?? null, startedAt: r.startedAt, endedAt: r.endedAt ?? r.startedAt }, action: 'CLOSED' });
  }
  if (gone.length) await db.query(`DELETE FROM "Incident" WHERE id = ANY($1::uuid[])`, [gone.map((r) => r.id)]);
  if (upserts.length) {
    await db.query(
      `INSERT INTO "Incident" (id, "serviceId", "startedAt", "endedAt")
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[])
       ON CONFLICT (id) DO UPDATE SET "endedAt" = EXCLUDED."endedAt"`,
      [upserts.map((u) => u.id), upserts.map((u) => u.serviceId), upserts.map((u) => u.startedAt), upserts.map((u) => u.endedAt)],
    );
  }
  return events;
}
