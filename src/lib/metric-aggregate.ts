import { exactQuantile, QuantileSketch, type SketchStats } from './quantile-sketch.js';

export const AGGREGATIONS = ['avg', 'sum', 'min', 'max', 'count', 'p50', 'p95', 'p99'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

const QUANTILE: Partial<Record<Aggregation, number>> = { p50: 0.5, p95: 0.95, p99: 0.99 };
export const isPercentile = (a: Aggregation): boolean => QUANTILE[a] !== undefined;

export interface MetricSummary {
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * What a bucket (or a whole range) of samples comes to. Fed raw samples it is exact (it keeps the
 * values); fed rollup rows it merges their sketches, so percentiles are within the sketches' 1 %.
 */
export class Accumulator {
  private values: number[] | undefined;
  private sketch: QuantileSketch | undefined;
  private stats: SketchStats = { count: 0, sum: 0, min: Infinity, max: -Infinity };

  addValue(v: number): void {
    (this.values ??= []).push(v);
    this.track({ count: 1, sum: v, min: v, max: v });
  }

  /** A rollup row: its stats, and its sketch when percentiles are wanted. */
  addRollup(stats: SketchStats, sketch?: QuantileSketch): void {
    this.track(stats);
    if (!sketch) return;
    if (this.sketch) this.sketch.merge(sketch);
    else this.sketch = sketch;
  }

  /** A stored rollup row: its stats, and its sketch's bytes (decoded straight into this bucket's sketch) when percentiles are wanted. */
  addStored(stats: SketchStats, bytes?: Uint8Array): void {
    this.track(stats);
    if (bytes) (this.sketch ??= QuantileSketch.empty()).mergeBytes(bytes, stats);
  }

  /** Folds in another accumulator of rollup rows (a bucket into the summary of the range); `other` is left as it was. */
  absorb(other: Accumulator): void {
    this.track(other.stats);
    if (other.sketch) (this.sketch ??= QuantileSketch.empty()).merge(other.sketch);
  }

  private track(s: SketchStats): void {
    const t = this.stats;
    t.count += s.count;
    t.sum += s.sum;
    if (s.min < t.min) t.min = s.min;
    if (s.max > t.max) t.max = s.max;
  }

  get count(): number {
    return this.stats.count;
  }

  quantile(q: number): number | null {
    if (this.stats.count === 0) return null;
    if (this.values) {
      const sorted = this.values.slice().sort((a, b) => a - b);
      this.values = sorted;
      return exactQuantile(sorted, q);
    }
    return this.sketch?.quantile(q) ?? null;
  }

  value(aggregation: Aggregation): number | null {
    const s = this.stats;
    if (s.count === 0) return aggregation === 'count' ? 0 : null;
    switch (aggregation) {
      case 'avg':
        return s.sum / s.count;
      case 'sum':
        return s.sum;
      case 'min':
        return s.min;
      case 'max':
        return s.max;
      case 'count':
        return s.count;
      default:
        return this.quantile(QUANTILE[aggregation]!);
    }
  }

  summary(): MetricSummary {
    const empty = this.stats.count === 0;
    return {
      count: this.stats.count,
      avg: empty ? null : this.stats.sum / this.stats.count,
      min: empty ? null : this.stats.min,
      max: empty ? null : this.stats.max,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
    };
  }
}
