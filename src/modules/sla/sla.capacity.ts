import type { Sql } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { CAPACITY_LOCK } from './sla.locks.js';

/**
 * A license's `maxServices`: services that exist always stay and keep reporting; only new ones
 * beyond the limit are refused. New services are counted under one advisory lock, taken after
 * the node lock (the order every writer uses), so two nodes adding services at once cannot both
 * take the last place.
 */


export interface Admission {
  admitted: Set<string>;
  refused: string[];
}

/** Which of `names` on `nodeId` may be written: all existing ones, and new ones while there is room. */
export async function admitServices(sql: Sql, nodeId: string, names: readonly string[], maxServices: number | null): Promise<Admission> {
  if (maxServices === null || !names.length) return { admitted: new Set(names), refused: [] };
  const existing = await sql.query<{ name: string }>(`SELECT name FROM "Service" WHERE "nodeId" = $1 AND name = ANY($2::text[])`, [nodeId, names]);
  const known = new Set(existing.map((r) => r.name));
  const fresh = names.filter((n) => !known.has(n)).sort();
  if (!fresh.length) return { admitted: new Set(names), refused: [] };
  await sql.query(CAPACITY_LOCK);
  const [{ count }] = (await sql.query<{ count: number }>(`SELECT count(*)::int AS count FROM "Service"`)) as [{ count: number }];
  const room = Math.max(0, maxServices - count);
  const refused = fresh.slice(room);
  const refusedSet = new Set(refused);
  return { admitted: new Set(names.filter((n) => !refusedSet.has(n))), refused };
}

export function capacityError(maxServices: number, refused: readonly string[]): AppError {
  return new AppError('LICENSE_LIMIT', `the license allows at most ${maxServices} services; ${refused.join(', ')} would exceed it (existing services keep reporting)`, {
    field: 'name',
    limit: 'maxServices',
    maxServices,
    refused,
  });
}
