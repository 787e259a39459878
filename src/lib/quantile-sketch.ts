import { createRequire } from 'node:module';
import type { DDSketch as DDSketchType } from '@datadog/sketches-js';

// The package is CommonJS; required so that its protobuf code loads lazily as the library expects.
const requireCjs = createRequire(import.meta.url);
const { DDSketch } = requireCjs('@datadog/sketches-js') as typeof import('@datadog/sketches-js');
interface ProtoType {
  create(fields: object): unknown;
  encode(message: unknown): { finish(): Uint8Array };
}
const proto = requireCjs('@datadog/sketches-js/dist/ddsketch/proto/compiled') as { DDSketch: ProtoType };

/** Every sketch of the store: merged sketches must share it, and percentiles stay within it of the exact value. */
export const RELATIVE_ACCURACY = 0.01;

/** What a rollup bucket keeps beside its sketch: the library's protobuf form drops these. */
export interface SketchStats {
  count: number;
  sum: number;
  min: number;
  max: number;
}

interface Store {
  count: number;
  bins: number[];
  offset: number;
  minKey: number;
  maxKey: number;
  merge(other: Store): void;
}
interface RawSketch {
  mapping: { toProto(): unknown };
  zeroCount: number;
  count: number;
  store: Store;
  negativeStore: Store;
  accept(value: number, weight?: number): void;
  merge(other: RawSketch): void;
  getValueAtQuantile(q: number): number;
  toProto(): Uint8Array;
}

/**
 * A mergeable quantile sketch (DDSketch, 1 % relative accuracy) with exact count, sum, min and max.
 *
 * Two traps of @datadog/sketches-js 2.1.1 are handled here: `merge()` merges only the positive
 * store (negative values vanish, DataDog/sketches-js#22), so the negative store is merged by hand;
 * and `fromProto()` loses min, max and sum, so those travel beside the bytes (the tiers keep them
 * in their own columns).
 */
export class QuantileSketch {
  private constructor(
    private readonly raw: RawSketch,
    private stats: SketchStats,
  ) {}

  static empty(): QuantileSketch {
    return new QuantileSketch(new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY }) as unknown as RawSketch, { count: 0, sum: 0, min: Infinity, max: -Infinity });
  }

  static of(values: Iterable<number>): QuantileSketch {
    const s = QuantileSketch.empty();
    for (const v of values) s.add(v);
    return s;
  }

  /** A stored sketch: its protobuf bytes and the stats kept beside them. */
  static fromBytes(bytes: Uint8Array, stats: SketchStats): QuantileSketch {
    const raw = (DDSketch as unknown as { fromProto(b: Uint8Array): RawSketch }).fromProto(bytes);
    return new QuantileSketch(raw, { ...stats });
  }

  get count(): number {
    return this.stats.count;
  }
  get sum(): number {
    return this.stats.sum;
  }
  get min(): number {
    return this.stats.min;
  }
  get max(): number {
    return this.stats.max;
  }

  add(value: number): void {
    this.raw.accept(value);
    const s = this.stats;
    s.count++;
    s.sum += value;
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
  }

  /** Folds `other` into this sketch; `other` is left as it was. */
  merge(other: QuantileSketch): void {
    if (other.stats.count === 0) return;
    const wasEmpty = this.raw.count === 0;
    this.raw.merge(other.raw);
    // An empty target copies both stores; otherwise the library merged the positive store only.
    if (!wasEmpty) this.raw.negativeStore.merge(other.raw.negativeStore);
    const s = this.stats;
    s.count += other.stats.count;
    s.sum += other.stats.sum;
    s.min = Math.min(s.min, other.stats.min);
    s.max = Math.max(s.max, other.stats.max);
  }

  /**
   * The value at quantile `q` (0..1): the sample of rank floor(q·(count−1)) in sorted order, within
   * 1 % of it (the sketch's guarantee), never outside [min, max]; null when empty.
   */
  quantile(q: number): number | null {
    if (this.stats.count === 0) return null;
    const v = this.raw.getValueAtQuantile(q);
    return Math.min(this.stats.max, Math.max(this.stats.min, v));
  }

  /**
   * The library's protobuf form, with each store's bins cut to the keys in use: its own `toProto`
   * writes the whole grown array (chunks of 128 bins), several times the bytes for a typical bucket.
   */
  toBytes(): Uint8Array {
    const store = (s: Store) => {
      if (s.count === 0) return { contiguousBinCounts: [], contiguousBinIndexOffset: 0 };
      return { contiguousBinCounts: s.bins.slice(s.minKey - s.offset, s.maxKey - s.offset + 1), contiguousBinIndexOffset: s.minKey };
    };
    const message = proto.DDSketch.create({
      mapping: this.raw.mapping.toProto(),
      positiveValues: store(this.raw.store),
      negativeValues: store(this.raw.negativeStore),
      zeroCount: this.raw.zeroCount,
    });
    return proto.DDSketch.encode(message).finish();
  }

  statsOf(): SketchStats {
    return { ...this.stats };
  }
}

/** The exact counterpart of `QuantileSketch.quantile` on sorted values: the sample of rank floor(q·(n−1)). */
export function exactQuantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

/** Relative error of `approx` against `exact`, 0 when both are 0. */
export function relativeError(approx: number, exact: number): number {
  if (exact === 0) return approx === 0 ? 0 : Infinity;
  return Math.abs(approx - exact) / Math.abs(exact);
}
