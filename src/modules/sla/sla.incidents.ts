import { createHash } from 'node:crypto';
import type pg from 'pg';
import { incidents, timeline } from '../../lib/sla.js';
import { historySince } from './sla.history.js';

export const SLA_INCIDENT = 'sla:incident';

export interface IncidentRecord {
  id: string;
  serviceId: string;
  slaGroupId: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

export interface IncidentEvent {
  incident: IncidentRecord;
  action: 'OPENED' | 'CLOSED';
}

/** An incident's id follows from its service and start, so recomputing it keeps its identity. */
export function incidentId(serviceId: string, startedAt: number): string {
  const h = createHash('sha256').update(`${serviceId}|${startedAt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Brings the stored incidents of `services` in line with their history from `from` on, inside
 * the caller's transaction, and says which opened or closed. Idempotent: a second run with the
 * same history changes nothing.
 */
export async function syncIncidents(db: pg.PoolClient, services: readonly { id: string; slaGroupId: string | null }[], from: Date): Promise<IncidentEvent[]> {
  if (!services.length) return [];
  const ids = services.map((s) => s.id);
  const history = await historySince(db, ids, from);
  const anchors = ids.map((id) => new Date(history.get(id)![0]?.at ?? from.getTime()));
  const { rows: stored } = await db.query<{ id: string; serviceId: string; startedAt: Date; endedAt: Date | null }>(
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
