import type pg from 'pg';
import type { Config } from '../../config.js';
import type { Clock } from '../../infra/clock.js';
import { sqlOf } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { Accumulator, isPercentile, type Aggregation, type MetricSummary } from '../../lib/metric-aggregate.js';
import { prometheusLabelName, prometheusLabelValue, prometheusName, prometheusValue, type Labels } from '../../lib/metric-labels.js';
import { autoGranularity, bucketStart, TIER_MS, type Granularity, type Tier } from '../../lib/metric-time.js';
import type { MetricDef } from './metrics.catalog.js';
import { retentionMs, STORE_LEVELS, STORE_TABLES } from './metrics.partitions.js';

export interface SeriesQuery {
  name: string;
  start: Date;
  end: Date;
  granularity: Granularity;
  aggregation: Aggregation;
  /** All must match; empty: every series of the metric. */
  labels: Labels;
  /** Keep the most recent `limit` points. */
  limit?: number;
  /**
   * Buckets of this length (epoch-aligned) instead of the tier's own: raw samples or the tier's
   * buckets are added up into them. A multiple of the tier's bucket, or the buckets would straddle.
   */
  stepMs?: number;
}

export interface DataPoint {
  timestamp: Date;
  value: number | null;
}

export interface SeriesAnswer {
  metric: string;
  start: Date;
  end: Date;
  granularity: Exclude<Granularity, 'auto'>;
  aggregation: Aggregation;
  dataPoints: DataPoint[];
  summary: MetricSummary;
}

export interface LatestSample {
  seriesId: number;
  name: string;
  collector: string;
  type: string;
  labels: Labels;
  value: number;
  timestamp: Date;
}

/** The most raw samples one query reads; beyond it the query asks for a coarser tier (ERR_4001). */
const MAX_RAW_ROWS = 2_000_000;
/** pg's code for a statement cancelled by its timeout. */
const QUERY_CANCELED = '57014';

/**
 * Reads of the metrics store: the read API other modules use (`series`, `latest`), and what the
 * REST and GraphQL adapters answer.
 */
export function createMetricsQuery(deps: { pool: pg.Pool; config: Config; clock: Clock }) {
  const sql = sqlOf(deps.pool);

  async function metricOf(name: string): Promise<{ id: number; name: string }> {
    const [m] = await sql.query<{ id: number; name: string }>({ name: 'opsgraph.metrics.by-name', text: 'SELECT id, name FROM "MetricDefinition" WHERE name = $1' }, [name]);
    if (!m) throw new AppError('NOT_FOUND', `unknown metric ${name}`, { field: 'name', metric: name });
    return m;
  }

  async function seriesIds(metricId: number, labels: Labels): Promise<string[]> {
    const rows = await sql.query<{ id: string }>({ name: 'opsgraph.metrics.series-of', text: 'SELECT id FROM "MetricSeries" WHERE "metricId" = $1 AND labels @> $2::jsonb' }, [metricId, JSON.stringify(labels)]);
    return rows.map((r) => r.id);
  }

  async function readRaw(ids: string[], start: Date, end: Date, into: (ms: number, value: number) => void): Promise<void> {
    const rows = await sql.query<{ ms: number; value: number }>(
      {
        name: 'opsgraph.metrics.raw',
        text: `SELECT (extract(epoch FROM ts) * 1000)::float8 AS ms, value FROM metric_samples WHERE series_id = ANY($1::bigint[]) AND ts >= $2 AND ts <= $3 LIMIT $4`,
      },
      [ids, start.toISOString(), end.toISOString(), MAX_RAW_ROWS + 1],
    );
    if (rows.length > MAX_RAW_ROWS) throw new AppError('METRICS_QUERY_FAILED', `more than ${MAX_RAW_ROWS} raw samples in the range; ask for a coarser granularity`, { field: 'granularity' });
    for (const r of rows) into(r.ms, r.value);
  }

  async function readTier(tier: Tier, ids: string[], start: Date, end: Date, into: (ms: number, stats: { count: number; sum: number; min: number; max: number }, sketch: Buffer) => void): Promise<void> {
    const rows = await sql.query<{ ms: number; count: string; sum: number; min: number; max: number; sketch: Buffer }>(
      `SELECT (extract(epoch FROM bucket) * 1000)::float8 AS ms, count, sum, min, max, sketch FROM ${STORE_TABLES[tier].table}
        WHERE series_id = ANY($1::bigint[]) AND bucket >= $2 AND bucket < $3`,
      [ids, new Date(bucketStart(start.getTime(), TIER_MS[tier])).toISOString(), end.toISOString()],
    );
    for (const r of rows) {
      const stats = { count: Number(r.count), sum: r.sum, min: r.min, max: r.max };
      into(r.ms, stats, r.sketch);
    }
  }

  return {
    /**
     * A metric over [start, end] at a tier (`auto`: the coarsest still giving ≥ 100 points), the
     * samples of every matching series aggregated per bucket (a bucket's timestamp is its start;
     * empty buckets are left out), and a summary of the whole range. Raw samples are those in
     * [start, end]; a tier answers the buckets that start in [the bucket of start, end).
     */
    async series(q: SeriesQuery): Promise<SeriesAnswer> {
      const metric = await metricOf(q.name);
      const granularity = q.granularity === 'auto' ? autoGranularity(q.start.getTime(), q.end.getTime()) : q.granularity;
      if (q.stepMs !== undefined && granularity !== 'raw' && q.stepMs % TIER_MS[granularity] !== 0) throw new AppError('BAD_USER_INPUT', `a step of ${q.stepMs} ms is not a whole number of ${granularity} buckets`, { field: 'step' });
      const ids = await seriesIds(metric.id, q.labels);
      const buckets = new Map<number, Accumulator>();
      const acc = (at: number) => {
        const ms = q.stepMs === undefined ? at : bucketStart(at, q.stepMs);
        let a = buckets.get(ms);
        if (!a) buckets.set(ms, (a = new Accumulator()));
        return a;
      };
      const summary = new Accumulator();
      try {
        if (ids.length && granularity === 'raw') {
          await readRaw(ids, q.start, q.end, (ms, v) => {
            acc(ms).addValue(v);
            summary.addValue(v);
          });
        } else if (ids.length) {
          const wantsBuckets = isPercentile(q.aggregation);
          // Each stored sketch is decoded once, straight into the bins it merges into: into its bucket
          // when the buckets want percentiles (the summary then merges the buckets, a few hundred
          // bins each), else into the summary alone.
          await readTier(granularity as Tier, ids, q.start, q.end, (ms, stats, sketch) => {
            if (wantsBuckets) acc(ms).addStored(stats, sketch);
            else {
              acc(ms).addStored(stats);
              summary.addStored(stats, sketch);
            }
          });
          if (wantsBuckets) for (const a of buckets.values()) summary.absorb(a);
        }
      } catch (err) {
        if ((err as { code?: string }).code === QUERY_CANCELED) throw new AppError('METRICS_QUERY_FAILED', 'the metrics query took too long; narrow the range or ask for a coarser granularity', { field: 'granularity' });
        throw err;
      }
      let dataPoints = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([ms, a]) => ({ timestamp: new Date(ms), value: a.value(q.aggregation) }));
      if (q.limit !== undefined && dataPoints.length > q.limit) dataPoints = dataPoints.slice(dataPoints.length - q.limit);
      return { metric: metric.name, start: q.start, end: q.end, granularity, aggregation: q.aggregation, dataPoints, summary: summary.summary() };
    },

    /**
     * The latest sample of every series within the raw retention, set-based (one statement):
     * optionally of some metrics, one collector, series whose labels include `labels`.
     */
    async latest(filter: { names?: string[]; collector?: string; labels?: Labels } = {}): Promise<LatestSample[]> {
      const rows = await sql.query<{ id: string; name: string; collector: string; type: string; labels: Labels; ts: Date; value: number }>(
        {
          name: 'opsgraph.metrics.latest',
          text: `SELECT s.id, d.name, d.collector, d.type, s.labels, l.ts, l.value
                   FROM "MetricDefinition" d JOIN "MetricSeries" s ON s."metricId" = d.id
                   CROSS JOIN LATERAL (SELECT ts, value FROM metric_samples m WHERE m.series_id = s.id AND m.ts >= $4 ORDER BY ts DESC LIMIT 1) l
                  WHERE ($1::text[] IS NULL OR d.name = ANY($1::text[])) AND ($2::text IS NULL OR d.collector = $2) AND s.labels @> $3::jsonb
                  ORDER BY d.name, s.id`,
        },
        [filter.names ?? null, filter.collector ?? null, JSON.stringify(filter.labels ?? {}), new Date(deps.clock.now().getTime() - retentionMs(deps.config, 'raw')).toISOString()],
      );
      return rows.map((r) => ({ seriesId: Number(r.id), name: r.name, collector: r.collector, type: r.type, labels: r.labels, value: r.value, timestamp: r.ts }));
    },

    /** One metric's definition, or null when nothing by that name was ever stored. */
    async definition(name: string): Promise<MetricDef | null> {
      const [d] = await sql.query<MetricDef>({ name: 'opsgraph.metrics.definition', text: 'SELECT name, type, collector, description, unit FROM "MetricDefinition" WHERE name = $1' }, [name]);
      return d ?? null;
    },

    /**
     * Samples stored per second of their timestamps over the `windowSeconds` before now (seconds
     * without any left out), every series of every collector: the store's side of the console's
     * throughput. Reads today's raw partitions through the BRIN index on ts.
     */
    async samplesPerSecond(windowSeconds: number): Promise<{ second: number; n: number }[]> {
      const now = deps.clock.now();
      const rows = await sql.query<{ second: number; n: number }>(
        {
          name: 'opsgraph.metrics.samples-per-second',
          text: `SELECT (extract(epoch FROM date_trunc('second', ts)) * 1000)::float8 AS second, count(*)::int AS n
                   FROM metric_samples WHERE ts > $1 AND ts <= $2 GROUP BY 1`,
        },
        [new Date(now.getTime() - windowSeconds * 1_000).toISOString(), now.toISOString()],
      );
      return rows;
    },

    async definitions(filter: { collector?: string; type?: string } = {}): Promise<MetricDef[]> {
      return sql.query<MetricDef>(
        `SELECT name, type, collector, description, unit FROM "MetricDefinition" WHERE ($1::text IS NULL OR collector = $1) AND ($2::text IS NULL OR type = $2) ORDER BY collector, name`,
        [filter.collector ?? null, filter.type ?? null],
      );
    },

    /** Sizes from PostgreSQL itself, per tier over its partitions; counts from the statistics (estimates, not scans). */
    async stats(activeCollectors: number) {
      const parts = await sql.query<{ parent: string; bytes: string; rows: string }>(
        `SELECT p.relname AS parent, coalesce(sum(pg_total_relation_size(c.oid)), 0) AS bytes, coalesce(sum(greatest(c.reltuples, 0)), 0) AS rows
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
          WHERE p.relname = ANY($1::text[]) GROUP BY p.relname`,
        [STORE_LEVELS.map((l) => STORE_TABLES[l].table)],
      );
      const bytes = (level: keyof typeof STORE_TABLES) => Number(parts.find((p) => p.parent === STORE_TABLES[level].table)?.bytes ?? 0);
      const now = deps.clock.now();
      const [counts] = await sql.query<{ metrics: string; recent: string; oldest: Date | null; estimated: string }>(
        `SELECT (SELECT count(*) FROM "MetricDefinition") AS metrics,
                (SELECT count(*) FROM metric_samples WHERE ts > $1 AND ts <= $2) AS recent,
                (SELECT least((SELECT min(bucket) FROM metric_rollup_1h), (SELECT min(ts) FROM metric_samples WHERE ts >= $3))) AS oldest,
                (SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables WHERE relname LIKE 'metric\\_samples\\_p%') AS estimated`,
        [new Date(now.getTime() - 300_000).toISOString(), now.toISOString(), new Date(now.getTime() - retentionMs(deps.config, 'raw')).toISOString()],
      );
      const storage = { raw: bytes('raw'), oneMinute: bytes('1m'), fiveMinute: bytes('5m'), oneHour: bytes('1h'), total: 0 };
      storage.total = storage.raw + storage.oneMinute + storage.fiveMinute + storage.oneHour;
      const oldest = counts?.oldest ?? null;
      const days = oldest ? Math.max(1, (now.getTime() - oldest.getTime()) / 86_400_000) : 1;
      const rawRows = Number(parts.find((p) => p.parent === STORE_TABLES.raw.table)?.rows ?? 0);
      return {
        activeCollectors,
        totalMetrics: Number(counts?.metrics ?? 0),
        totalDataPoints: Math.max(rawRows, Number(counts?.estimated ?? 0)),
        storage,
        collectionRate: Math.round((Number(counts?.recent ?? 0) / 300) * 100) / 100,
        storageGrowth: Math.round(storage.total / days),
        oldestData: oldest,
      };
    },

    /** The latest sample of every series in the Prometheus text format (federation). */
    async prometheus(): Promise<string> {
      const latest = await this.latest();
      const lines: string[] = [];
      let current = '';
      for (const s of latest) {
        const name = prometheusName(s.name);
        if (name !== current) {
          current = name;
          lines.push(`# TYPE ${name} ${s.type === 'counter' ? 'counter' : s.type === 'gauge' ? 'gauge' : 'untyped'}`);
        }
        const labels = Object.entries(s.labels).map(([k, v]) => `${prometheusLabelName(k)}="${prometheusLabelValue(v)}"`);
        lines.push(`${name}${labels.length ? `{${labels.join(',')}}` : ''} ${prometheusValue(s.value)} ${s.timestamp.getTime()}`);
      }
      return lines.join('\n') + (lines.length ? '\n' : '');
    },
  };
}

export type MetricsQuery = ReturnType<typeof createMetricsQuery>;
