import type pg from 'pg';
import type { Logger } from '../../infra/logger.js';
import { inTransaction, sqlOf, type Sql } from '../../infra/sql.js';
import { coarsen, type BucketPartial } from '../../lib/metric-partials.js';
import { TIER_MS, TIERS, type Tier } from '../../lib/metric-time.js';
import { QuantileSketch } from '../../lib/quantile-sketch.js';
import { STORE_TABLES, type Partitions } from './metrics.partitions.js';

/** BucketPartial buckets one pass folds in at most (an ingest batch of 10,000 samples writes at most 10,000, usually far fewer). */
const PASS_PARTIALS = 50_000;

export interface RollupPass {
  /** BucketPartial buckets taken from `metric_pending_partials`. */
  partials: number;
  /** Samples those partials hold. */
  samples: number;
  /** Tier rows written, all tiers together. */
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

const NOTHING: RollupPass = { partials: 0, samples: 0, buckets: 0 };

/**
 * Keeps the 1m, 5m and 1h tiers from what arrived since the last pass. Each ingest transaction
 * writes its batch's samples already sketched per series and minute into `metric_pending_partials`
 * (committed rows only are visible, so nothing is missed whatever order writers commit in). A pass
 * takes (deletes) the oldest partials, merges those of the same minute, merges the minutes into
 * their 5m and 1h buckets, merges each tier's result into the buckets already stored (a late sample
 * re-opens its closed bucket) and writes them back, in one transaction: a pass that fails leaves
 * the partials for the next. One pass at a time across every worker (a transaction-scoped advisory
 * lock), so two passes never merge the same partial twice.
 */
export function createRollups(deps: { pool: pg.Pool; partitions: Partitions; logger: Logger }) {
  async function foldTier(db: Sql, tier: Tier, partials: BucketPartial[]): Promise<number> {
    if (partials.length === 0) return 0;
    const table = STORE_TABLES[tier].table;
    // Locked in key order, so that a pass and anything else locking tier rows cannot deadlock.
    partials.sort((a, b) => (a.series === b.series ? a.bucket - b.bucket : Number(a.series) - Number(b.series)));
    const seriesIds = partials.map((p) => p.series);
    const buckets = partials.map((p) => new Date(p.bucket).toISOString());
    const byKey = new Map(partials.map((p) => [`${p.series}@${p.bucket}`, p.sketch]));
    const stored = await db.query<TierRow>(
      `SELECT t.series_id, t.bucket, t.count, t.sum, t.min, t.max, t.sketch FROM ${table} t
         JOIN unnest($1::bigint[], $2::timestamptz[]) AS k(s, b) ON t.series_id = k.s AND t.bucket = k.b
        FOR UPDATE OF t`,
      [seriesIds, buckets],
    );
    for (const row of stored) byKey.get(`${row.series_id}@${row.bucket.getTime()}`)!.mergeBytes(row.sketch, { count: Number(row.count), sum: row.sum, min: row.min, max: row.max });
    const merged = partials.map((p) => p.sketch);
    await db.execute(
      `INSERT INTO ${table} (series_id, bucket, count, sum, min, max, sketch)
       SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::bytea[])
       ON CONFLICT (series_id, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, sketch = excluded.sketch`,
      [seriesIds, buckets, merged.map((s) => s.count), merged.map((s) => s.sum), merged.map((s) => s.min), merged.map((s) => s.max), merged.map((s) => Buffer.from(s.toBytes()))],
    );
    return partials.length;
  }

  async function pass(): Promise<RollupPass> {
    // The partitions the pending buckets fall in, made before the pass's transaction; the pass
    // takes only partials inside this span, so one arriving meanwhile never lacks its partition.
    const [span] = await sqlOf(deps.pool).query<{ min: Date | null; max: Date | null }>('SELECT min(bucket) AS min, max(bucket) AS max FROM metric_pending_partials');
    if (!span?.min || !span.max) return NOTHING;
    for (const tier of TIERS) await deps.partitions.ensure(tier, span.min.getTime(), span.max.getTime());

    return inTransaction(deps.pool, async (db) => {
      const [lock] = await db.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', ['metrics-rollup']);
      if (!lock?.locked) return NOTHING;
      const taken = await db.query<TierRow>(
        `DELETE FROM metric_pending_partials WHERE id IN (
           SELECT id FROM metric_pending_partials WHERE bucket >= $1 AND bucket <= $2 ORDER BY id LIMIT $3)
         RETURNING series_id, bucket, count, sum, min, max, sketch`,
        [span.min, span.max, PASS_PARTIALS],
      );
      if (taken.length === 0) return NOTHING;
      let samples = 0;
      const partials: BucketPartial[] = taken.map((r) => {
        samples += Number(r.count);
        return { series: r.series_id, bucket: r.bucket.getTime(), sketch: QuantileSketch.fromBytes(r.sketch, { count: Number(r.count), sum: r.sum, min: r.min, max: r.max }) };
      });
      // Batches of the same minute are merged first; each coarser tier merges the finer one's
      // buckets (bins, not samples). All are built before any is merged with what is stored.
      let finer = coarsen(partials, TIER_MS[TIERS[0]]);
      const perTier = new Map<Tier, BucketPartial[]>();
      for (const tier of TIERS) {
        const mine = tier === TIERS[0] ? finer : coarsen(finer, TIER_MS[tier]);
        perTier.set(tier, mine);
        finer = mine;
      }
      let buckets = 0;
      for (const tier of TIERS) buckets += await foldTier(db, tier, perTier.get(tier)!);
      return { partials: taken.length, samples, buckets };
    });
  }

  return {
    /** Folds in everything pending, pass after pass, for at most `budgetMs`. */
    async run(budgetMs = 5_000): Promise<RollupPass> {
      const started = Date.now();
      const total: RollupPass = { ...NOTHING };
      for (;;) {
        const p = await pass();
        total.partials += p.partials;
        total.samples += p.samples;
        total.buckets += p.buckets;
        if (p.partials === 0 || Date.now() - started > budgetMs) return total;
      }
    },
  };
}

export type Rollups = ReturnType<typeof createRollups>;
