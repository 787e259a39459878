import type pg from 'pg';
import type { ServiceStatus } from '../../lib/status-history.js';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/**
 * The change points of `ids` from the last UP change at or before `from` (or the first change):
 * an incident can only have started after it, so whatever is computed from here on (uptime,
 * incidents) is exact for any range starting at `from`.
 */
export async function historySince(db: Queryable, ids: readonly string[], from: Date, to?: Date): Promise<Map<string, { at: number; status: ServiceStatus }[]>> {
  const { rows } = await db.query<{ serviceId: string; at: Date; status: ServiceStatus }>(
    `WITH anchor AS (
       SELECT s.id, COALESCE(
         (SELECT max(at) FROM "StatusChange" c WHERE c."serviceId" = s.id AND c.at <= $2 AND c.status IN ('OPERATIONAL', 'DEGRADED')),
         (SELECT min(at) FROM "StatusChange" c WHERE c."serviceId" = s.id),
         $2) AS at
       FROM unnest($1::uuid[]) AS s(id))
     SELECT c."serviceId", c.at, c.status FROM "StatusChange" c JOIN anchor a ON a.id = c."serviceId"
     WHERE c.at >= a.at AND ($3::timestamptz IS NULL OR c.at < $3) ORDER BY c."serviceId", c.at`,
    [ids, from, to ?? null],
  );
  const out = new Map<string, { at: number; status: ServiceStatus }[]>(ids.map((id) => [id, []]));
  for (const r of rows) out.get(r.serviceId)!.push({ at: r.at.getTime(), status: r.status });
  return out;
}
