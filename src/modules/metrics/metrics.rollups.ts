import type pg from 'pg';
import type { Logger } from '../../infra/logger.js';
import { inTransaction, sqlOf, type Sql } from '../../infra/sql.js';
import { bucketStart, TIER_MS, TIERS, type Tier } from '../../lib/metric-time.js';
import { QuantileSketch } from '../../lib/quantile-sketch.js';
import { STORE_TABLES, type Partitions } from './metrics.partitions.js';

/** Samples one pass folds in at most (whole batches; a batch is at most 10,000). */
const PASS_SAMPLES = 200_000;

export interface RollupPass {
  batches: number;
  samples: number;
  buckets: number;
}

interface TierRow {
  series_id: string;
  bucket: Date;
  count: string;
  sum: number;
  min: number;
  max: number;
  sketch: Buffer;
}

/**
 * Keeps the 1m, 5m and 1h tiers from what arrived since the last pass: the batches ingest listed
 * in `metric_pending_batches` (committed ones only, so nothing is missed whatever order writers
 * commit in). A pass reads those batches' samples, sketches them per series and bucket, merges the
 * sketches into the buckets already stored (a late sample re-opens its closed bucket), writes the
 * buckets back and deletes the batches, in one transaction: a pass that fails leaves them for the
 * next. One pass at a time across every worker (a transaction-scoped advisory lock).
 */
export function createRollups(deps: { pool: pg.Pool; partitions: Partitions; logger: Logger }) {
  async function foldTier(db: Sql, tier: Tier, partials: Map<string, QuantileSketch>): Promise<number> {
    if (partials.size === 0) return 0;
    const table = STORE_TABLES[tier].table;
    const keys = [...partials.keys()].sort();
    const seriesIds = keys.map((k) => k.slice(0, k.indexOf('@')));
    const buckets = keys.map((k) => new Date(Number(k.slice(k.indexOf('@') + 1))).toISOString());
    const stored = await db.query<TierRow>(
      `SELECT t.series_id, t.bucket, t.count, t.sum, t.min, t.max, t.sketch FROM ${table} t
         JOIN unnest($1::bigint[], $2::timestamptz[]) AS k(s, b) ON t.series_id = k.s AND t.bucket = k.b
        FOR UPDATE OF t`,
      [seriesIds, buckets],
    );
    for (const row of stored) partials.get(`${row.series_id}@${row.bucket.getTime()}`)!.mergeBytes(row.sketch, { count: Number(row.count), sum: row.sum, min: row.min, max: row.max });
    const merged = keys.map((k) => partials.get(k)!);
    await db.execute(
      `INSERT INTO ${table} (series_id, bucket, count, sum, min, max, sketch)
       SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::bytea[])
       ON CONFLICT (series_id, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, sketch = excluded.sketch`,
      [seriesIds, buckets, merged.map((s) => s.count), merged.map((s) => s.sum), merged.map((s) => s.min), merged.map((s) => s.max), merged.map((s) => Buffer.from(s.toBytes()))],
    );
    return keys.length;
  }

  async function pass(): Promise<RollupPass> {
    // The partitions the pending batches' buckets fall in, made before the pass's transaction.
    const [span] = await sqlOf(deps.pool).query<{ min: Date | null; max: Date | null }>('SELECT min(min_ts) AS min, max(max_ts) AS max FROM metric_pending_batches');
    if (!span?.min || !span.max) return { batches: 0, samples: 0, buckets: 0 };
    for (const tier of TIERS) await deps.partitions.ensure(tier, span.min.getTime(), span.max.getTime());

    return inTransaction(deps.pool, async (db) => {
      const [lock] = await db.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', ['metrics-rollup']);
      if (!lock?.locked) return { batches: 0, samples: 0, buckets: 0 };
      const batches = await db.query<{ id: string; min_ts: Date; max_ts: Date; samples: number }>(
        `SELECT id, min_ts, max_ts, samples FROM (
           SELECT *, sum(samples) OVER (ORDER BY id) AS running FROM metric_pending_batches) b
          WHERE running - samples < $1 ORDER BY id`,
        [PASS_SAMPLES],
      );
      if (batches.length === 0) return { batches: 0, samples: 0, buckets: 0 };
      const ids = batches.map((b) => b.id);
      const from = new Date(Math.min(...batches.map((b) => b.min_ts.getTime()))).toISOString();
      const to = new Date(Math.max(...batches.map((b) => b.max_ts.getTime()))).toISOString();
      const rows = await db.query<{ series_id: string; ms: number; value: number }>(
        `SELECT series_id, (extract(epoch FROM ts) * 1000)::float8 AS ms, value FROM metric_samples
          WHERE batch_id = ANY($1::bigint[]) AND ts >= $2 AND ts <= $3`,
        [ids, from, to],
      );
      // Samples are sketched once, into the finest tier; each coarser tier merges the finer one's
      // partials (bins, not samples). All are built before any is merged with what is stored.
      const perTier: Map<string, QuantileSketch>[] = [];
      let finer: { series: string; ms: number; sketch: QuantileSketch }[] = [];
      for (const tier of TIERS) {
        const step = TIER_MS[tier];
        const partials = new Map<string, QuantileSketch>();
        const made: typeof finer = [];
        const into = (series: string, ms: number): QuantileSketch => {
          const bucket = bucketStart(ms, step);
          const key = `${series}@${bucket}`;
          let s = partials.get(key);
          if (!s) {
            partials.set(key, (s = QuantileSketch.empty()));
            made.push({ series, ms: bucket, sketch: s });
          }
          return s;
        };
        if (perTier.length === 0) for (const r of rows) into(r.series_id, r.ms).add(r.value);
        else for (const f of finer) into(f.series, f.ms).merge(f.sketch);
        perTier.push(partials);
        finer = made;
      }
      let buckets = 0;
      for (const [i, tier] of TIERS.entries()) buckets += await foldTier(db, tier, perTier[i]!);
      await db.execute('DELETE FROM metric_pending_batches WHERE id = ANY($1::bigint[])', [ids]);
      return { batches: ids.length, samples: rows.length, buckets };
    });
  }

  return {
    /** Folds in everything pending, pass after pass, for at most `budgetMs`. */
    async run(budgetMs = 5_000): Promise<RollupPass> {
      const started = Date.now();
      const total: RollupPass = { batches: 0, samples: 0, buckets: 0 };
      for (;;) {
        const p = await pass();
        total.batches += p.batches;
        total.samples += p.samples;
        total.buckets += p.buckets;
        if (p.batches === 0 || Date.now() - started > budgetMs) return total;
      }
    },
  };
}

export type Rollups = ReturnType<typeof createRollups>;
