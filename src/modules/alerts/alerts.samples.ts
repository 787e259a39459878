import type { Sql } from '../../infra/sql.js';
import { labelsKey } from '../../lib/alerting.js';

/**
 * The evaluator's one input from the metrics: the latest sample of every series that matches an
 * enabled rule, as (rule, series labels, value, at), in one statement for all rules. This is the
 * only place that knows where samples live; today a table of the latest sample per series fed by
 * `metric:sampled` (the metrics store's event), to be answered by the metrics store's own tables
 * once it is there: only this statement changes.
 */
export interface RuleSample {
  ruleId: string;
  labels: Record<string, string>;
  value: number;
  at: Date;
}

export async function latestSamples(db: Sql, freshSince: Date): Promise<RuleSample[]> {
  const rows = await db.query<{ ruleId: string; labels: Record<string, string>; value: number; at: Date }>({
    name: 'opsgraph.alerts.samples',
    // Label matchers are containment: a series matches when it carries every key and value of the rule's.
    // Per rule (LATERAL, fenced by OFFSET 0) rather than one join: rules with the same metric and
    // matchers are then looked up once (Memoize), about 5x faster at 10,000 rules than a join.
    text: `SELECT r.id AS "ruleId", s.labels, s.value, s.at
       FROM "AlertRule" r
       CROSS JOIN LATERAL (SELECT labels, value, at FROM "AlertSeriesSample" s WHERE s.metric = r.metric AND s.labels @> r.labels AND s.at >= $1 OFFSET 0) s
       WHERE r.enabled`,
    values: [freshSince],
  });
  return rows.map((r) => ({ ...r, value: Number(r.value) }));
}

/** Keeps the latest sample per series (a batch as `metric:sampled` carries it); an older sample never replaces a newer one. */
export async function recordSamples(db: Sql, samples: readonly { name: string; value: number; timestamp: Date; labels: Record<string, string> }[]): Promise<number> {
  if (!samples.length) return 0;
  // One row per series in the batch (the newest), or the upsert would touch a row twice.
  const latest = new Map<string, (typeof samples)[number]>();
  for (const s of samples) {
    const key = `${s.name}\n${labelsKey(s.labels)}`;
    const seen = latest.get(key);
    if (!seen || seen.timestamp <= s.timestamp) latest.set(key, s);
  }
  const list = [...latest.values()];
  return db.execute({
    name: 'opsgraph.alerts.record-samples',
    text: `INSERT INTO "AlertSeriesSample" (metric, "labelsKey", labels, value, at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::float8[], $5::timestamptz[])
       ON CONFLICT (metric, "labelsKey") DO UPDATE SET value = EXCLUDED.value, at = EXCLUDED.at, labels = EXCLUDED.labels
       WHERE "AlertSeriesSample".at <= EXCLUDED.at`,
    values: [list.map((s) => s.name), list.map((s) => labelsKey(s.labels)), list.map((s) => JSON.stringify(s.labels)), list.map((s) => s.value), list.map((s) => s.timestamp)],
  });
}
