import { bucketStart } from './metric-time.js';
import { QuantileSketch } from './quantile-sketch.js';

/** The samples of one series in one bucket, as a sketch with exact count, sum, min and max. */
export interface BucketPartial {
  series: string;
  /** The bucket's start, epoch ms. */
  bucket: number;
  sketch: QuantileSketch;
}

/**
 * Groups samples by series and bucket of `stepMs`, one sketch per group: what an ingest batch
 * hands the rollup job instead of its raw samples. `series[i]`, `ms[i]` and `values[i]` are sample i.
 */
export function partialsOf(series: readonly (string | number)[], ms: readonly number[], values: readonly number[], stepMs: number): BucketPartial[] {
  const groups = new Map<string, BucketPartial>();
  for (let i = 0; i < series.length; i++) {
    const bucket = bucketStart(ms[i]!, stepMs);
    const key = `${series[i]}@${bucket}`;
    let p = groups.get(key);
    if (!p) groups.set(key, (p = { series: String(series[i]), bucket, sketch: QuantileSketch.empty() }));
    p.sketch.add(values[i]!);
  }
  return [...groups.values()];
}

/**
 * Merges partials into buckets of `stepMs` (a multiple of theirs, or the same step to merge
 * partials of the same bucket). The inputs are left as they were.
 */
export function coarsen(partials: Iterable<BucketPartial>, stepMs: number): BucketPartial[] {
  const groups = new Map<string, BucketPartial>();
  for (const f of partials) {
    const bucket = bucketStart(f.bucket, stepMs);
    const key = `${f.series}@${bucket}`;
    let p = groups.get(key);
    if (!p) groups.set(key, (p = { series: f.series, bucket, sketch: QuantileSketch.empty() }));
    p.sketch.merge(f.sketch);
  }
  return [...groups.values()];
}
