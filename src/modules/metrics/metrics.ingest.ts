import type pg from 'pg';
import type { Config } from '../../config.js';
import type { EventBus } from '../../infra/events.js';
import { inTransaction, sqlOf, type Sql } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { canonicalLabels, labelsHash, type Labels } from '../../lib/metric-labels.js';
import { partialsOf } from '../../lib/metric-partials.js';
import { TIER_MS } from '../../lib/metric-time.js';
import { BUILT_IN_BY_NAME, CUSTOM } from './metrics.catalog.js';
import { METRIC_SAMPLED } from './metrics.events.js';
import type { Partitions } from './metrics.partitions.js';
import type { SampleInput } from './metrics.samples.js';

/** What a stored batch came to: how many samples, and the batch's id (ids grow with every batch). */
export interface Stored {
  accepted: number;
  batchId: string;
}

interface Definition {
  id: number;
  collector: string;
}

/** pg's code for "no partition of relation found for row". */
const NO_PARTITION = '23514';

/**
 * Writes batches of samples: a fixed number of statements whatever the batch size (definitions and
 * series only when new, then one `unnest` insert of the samples and one of the batch's partial 1m
 * buckets for the rollup job), in one transaction, so a refused batch leaves nothing behind (once
 * every series of a batch is known, that one statement alone).
 */
export function createIngest(deps: { pool: pg.Pool; config: Config; events: EventBus; partitions: Partitions }) {
  // Definitions and series are never deleted, so what a committed batch created may be remembered.
  const definitions = new Map<string, Definition>();
  const series = new Map<string, number>();

  async function resolveDefinitions(db: Sql, samples: readonly SampleInput[], collector: string): Promise<Map<string, Definition>> {
    const fresh = new Map<string, SampleInput>();
    for (const s of samples) if (!definitions.has(s.name) && !fresh.has(s.name)) fresh.set(s.name, s);
    const found = new Map<string, Definition>();
    if (fresh.size) {
      const rows = [...fresh.values()].map((s) => {
        const builtIn = BUILT_IN_BY_NAME.get(s.name);
        return builtIn ?? { name: s.name, type: s.type ?? 'gauge', unit: s.unit ?? null, description: null, collector };
      });
      await db.execute(
        {
          name: 'opsgraph.metrics.define',
          text: `INSERT INTO "MetricDefinition" (name, type, unit, description, collector)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) ON CONFLICT (name) DO NOTHING`,
        },
        [rows.map((r) => r.name), rows.map((r) => r.type), rows.map((r) => r.unit), rows.map((r) => r.description), rows.map((r) => r.collector)],
      );
      const got = await db.query<{ id: number; name: string; collector: string }>('SELECT id, name, collector FROM "MetricDefinition" WHERE name = ANY($1::text[])', [[...fresh.keys()]]);
      for (const r of got) found.set(r.name, { id: r.id, collector: r.collector });
    }
    return found;
  }

  const seriesKey = (metricId: number, hash: string) => `${metricId}:${hash}`;

  // A batch repeats the same few label sets; their canonical JSON and SHA-256 are remembered by a
  // cheap key, their JSON in the order they came (another order is only a miss, never a wrong
  // hash). Bounded: cleared when full, as a cache only saves work.
  const hashes = new Map<string, string>();
  const HASHES_KEPT = 100_000;
  const hashOf = (labels: Labels): string => {
    const key = JSON.stringify(labels);
    let h = hashes.get(key);
    if (h === undefined) {
      if (hashes.size >= HASHES_KEPT) hashes.clear();
      hashes.set(key, (h = labelsHash(labels)));
    }
    return h;
  };

  async function resolveSeries(db: Sql, samples: readonly SampleInput[], defs: (name: string) => Definition, collector: string): Promise<{ ids: number[]; created: Map<string, number> }> {
    const sampleHashes = samples.map((s) => hashOf(s.labels));
    const fresh = new Map<string, { metricId: number; name: string; labels: string; hash: string }>();
    samples.forEach((s, i) => {
      const def = defs(s.name);
      const key = seriesKey(def.id, sampleHashes[i]!);
      if (!series.has(key) && !fresh.has(key)) fresh.set(key, { metricId: def.id, name: s.name, labels: canonicalLabels(s.labels), hash: sampleHashes[i]! });
    });
    const created = new Map<string, number>();
    if (fresh.size) {
      if (collector === CUSTOM) await checkCardinality(db, [...fresh.values()]);
      const rows = [...fresh.values()];
      await db.execute(
        {
          name: 'opsgraph.metrics.series',
          text: `INSERT INTO "MetricSeries" ("metricId", labels, "labelsHash")
                 SELECT * FROM unnest($1::int[], $2::jsonb[], $3::text[]) ON CONFLICT ("metricId", "labelsHash") DO NOTHING`,
        },
        [rows.map((r) => r.metricId), rows.map((r) => r.labels), rows.map((r) => r.hash)],
      );
      const got = await db.query<{ id: string; metricId: number; labelsHash: string }>(
        `SELECT s.id, s."metricId", s."labelsHash" FROM "MetricSeries" s JOIN unnest($1::int[], $2::text[]) AS k(m, h) ON s."metricId" = k.m AND s."labelsHash" = k.h`,
        [rows.map((r) => r.metricId), rows.map((r) => r.hash)],
      );
      for (const r of got) created.set(seriesKey(r.metricId, r.labelsHash), Number(r.id));
    }
    const ids = samples.map((s, i) => {
      const key = seriesKey(defs(s.name).id, sampleHashes[i]!);
      return (series.get(key) ?? created.get(key))!;
    });
    return { ids, created };
  }

  /** New label sets of pushed metrics, under each metric's lock so that concurrent pushes cannot both pass the cap. */
  async function checkCardinality(db: Sql, fresh: { metricId: number; name: string }[]): Promise<void> {
    const perMetric = new Map<number, { name: string; added: number }>();
    for (const f of fresh) {
      const m = perMetric.get(f.metricId) ?? { name: f.name, added: 0 };
      m.added++;
      perMetric.set(f.metricId, m);
    }
    const metricIds = [...perMetric.keys()].sort((a, b) => a - b);
    await db.query('SELECT pg_advisory_xact_lock(hashtext($1), m) FROM unnest($2::int[]) AS m ORDER BY m', ['metrics-series-cap', metricIds]);
    const counts = await db.query<{ metricId: number; n: string }>('SELECT "metricId", count(*) AS n FROM "MetricSeries" WHERE "metricId" = ANY($1::int[]) GROUP BY "metricId"', [metricIds]);
    const have = new Map(counts.map((c) => [c.metricId, Number(c.n)]));
    for (const [id, m] of perMetric) {
      const total = (have.get(id) ?? 0) + m.added;
      if (total > deps.config.METRICS_MAX_SERIES_PER_METRIC) {
        throw new AppError('VALIDATION_FAILED', `metric ${m.name} would have ${total} label sets; at most ${deps.config.METRICS_MAX_SERIES_PER_METRIC} are kept per metric`, {
          field: 'samples',
          metric: m.name,
          limit: deps.config.METRICS_MAX_SERIES_PER_METRIC,
        });
      }
    }
  }

  /** The samples, the batch id and the batch's partial 1m buckets, in one statement; the batch id. */
  async function insertBatch(db: Sql, samples: readonly SampleInput[], ids: readonly number[]): Promise<string> {
    const times = samples.map((s) => s.timestamp.getTime());
    const values = samples.map((s) => s.value);
    // The batch's share of the 1m tier, sketched here where the samples already are: the rollup
    // job merges these few rows (one per series and minute) and never reads raw samples back.
    const partials = partialsOf(ids, times, values, TIER_MS['1m']);
    // One statement (one round trip) for the batch id, the samples and the partials. Instants
    // travel as epoch milliseconds: numbers are cheaper than ISO text to format and to parse, and
    // to_timestamp's microseconds hold every millisecond exactly.
    const [{ id: batchId }] = (await db.query<{ id: string }>(
      {
        name: 'opsgraph.metrics.samples',
        text: `WITH batch AS (SELECT nextval('metric_batch_seq') AS id),
               samples AS (
                 INSERT INTO metric_samples (series_id, ts, value, batch_id)
                 SELECT u.s, to_timestamp(u.t / 1000), u.v, batch.id FROM batch, unnest($1::bigint[], $2::float8[], $3::float8[]) AS u(s, t, v)),
               partials AS (
                 INSERT INTO metric_pending_partials (series_id, bucket, count, sum, min, max, sketch)
                 SELECT p.s, to_timestamp(p.b / 1000), p.n, p.sum, p.min, p.max, p.sketch
                   FROM unnest($4::bigint[], $5::float8[], $6::bigint[], $7::float8[], $8::float8[], $9::float8[], $10::bytea[]) AS p(s, b, n, sum, min, max, sketch))
               SELECT id FROM batch`,
      },
      [
        ids,
        times,
        values,
        partials.map((p) => p.series),
        partials.map((p) => p.bucket),
        partials.map((p) => p.sketch.count),
        partials.map((p) => p.sketch.sum),
        partials.map((p) => p.sketch.min),
        partials.map((p) => p.sketch.max),
        partials.map((p) => Buffer.from(p.sketch.toBytes())),
      ],
    )) as [{ id: string }];
    return batchId;
  }

  /** The series id of every sample when all are known to this process (and may be written by `collector`), else null. */
  function knownSeries(samples: readonly SampleInput[], collector: string): number[] | null {
    const ids: number[] = [];
    for (const s of samples) {
      const def = definitions.get(s.name);
      if (!def || (collector === CUSTOM && def.collector !== CUSTOM)) return null;
      const id = series.get(seriesKey(def.id, hashOf(s.labels)));
      if (id === undefined) return null;
      ids.push(id);
    }
    return ids;
  }

  async function write(samples: readonly SampleInput[], collector: string): Promise<Stored> {
    // The steady state, every series known: the one statement is atomic on its own, so it runs
    // without the two round trips of BEGIN and COMMIT.
    const known = knownSeries(samples, collector);
    if (known) return { accepted: samples.length, batchId: await insertBatch(sqlOf(deps.pool), samples, known) };
    return inTransaction(deps.pool, async (db) => {
      const fresh = await resolveDefinitions(db, samples, collector);
      const defs = (name: string) => (definitions.get(name) ?? fresh.get(name))!;
      if (collector === CUSTOM) {
        samples.forEach((s, i) => {
          const owner = defs(s.name).collector;
          if (owner !== CUSTOM) throw new AppError('VALIDATION_FAILED', `samples[${i}].name: ${s.name} belongs to the ${owner} collector`, { field: `samples[${i}].name`, metric: s.name });
        });
      }
      const { ids, created } = await resolveSeries(db, samples, defs, collector);
      const batchId = await insertBatch(db, samples, ids);
      return { fresh, created, batchId };
    }).then(({ fresh, created, batchId }) => {
      for (const [name, d] of fresh) definitions.set(name, d);
      for (const [key, id] of created) series.set(key, id);
      return { accepted: samples.length, batchId };
    });
  }

  return {
    /**
     * Stores a batch (already validated) and tells live subscribers. `collector` is `custom` for
     * pushed samples (capped per metric, never into a built-in collector's metric).
     */
    async ingest(samples: readonly SampleInput[], collector: string): Promise<Stored> {
      if (samples.length === 0) return { accepted: 0, batchId: '' };
      let min = Infinity;
      let max = -Infinity;
      for (const s of samples) {
        const t = s.timestamp.getTime();
        if (t < min) min = t;
        if (t > max) max = t;
      }
      await deps.partitions.ensure('raw', min, max);
      let stored: Stored;
      try {
        stored = await write(samples, collector);
      } catch (err) {
        // A partition another process dropped or never made: forget what this one knew, make it, once more.
        if ((err as { code?: string }).code !== NO_PARTITION) throw err;
        deps.partitions.forget();
        await deps.partitions.ensure('raw', min, max);
        stored = await write(samples, collector);
      }
      await deps.events.publish(METRIC_SAMPLED, [
        { samples: samples.map((s) => ({ name: s.name, value: s.value, timestamp: s.timestamp, labels: s.labels, collector: definitions.get(s.name)?.collector ?? collector })) },
      ]);
      return stored;
    },
  };
}

export type Ingest = ReturnType<typeof createIngest>;
