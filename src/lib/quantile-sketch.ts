/** Every sketch of the store: merged sketches must share it, and percentiles stay within it of the exact value. */
export const RELATIVE_ACCURACY = 0.01;

/** What a rollup bucket keeps beside its sketch: the serialized form drops these. */
export interface SketchStats {
  count: number;
  sum: number;
  min: number;
  max: number;
}

// The logarithmic mapping of @datadog/sketches-js 2.1.1 (`new DDSketch({ relativeAccuracy })`),
// computed the same way so that keys, values and bytes are interchangeable with the library's.
const GAMMA_MANTISSA = (2 * RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const GAMMA = 1 + GAMMA_MANTISSA;
const MULTIPLIER = (1 / Math.log1p(GAMMA_MANTISSA)) * Math.log(2);
const VALUE_FACTOR = 2 / (1 + GAMMA);
/** Magnitudes at or below it count as zero, as in the library. */
const MIN_POSITIVE = 2 ** -1023 * GAMMA;

const keyOf = (magnitude: number): number => Math.ceil(Math.log2(magnitude) * MULTIPLIER);
const valueOf = (key: number): number => 2 ** (key / MULTIPLIER) * VALUE_FACTOR;

/** Counts per key over a contiguous range of keys (a dense store, as the library's). */
class Bins {
  counts: number[] = [];
  /** The key of counts[0]. */
  offset = 0;
  total = 0;

  add(key: number, weight: number): void {
    const c = this.counts;
    if (c.length === 0) {
      this.offset = key;
      c.push(weight);
    } else if (key < this.offset) {
      const grow = this.offset - key;
      this.counts = new Array<number>(grow).fill(0).concat(c);
      this.counts[0] = weight;
      this.offset = key;
    } else {
      const i = key - this.offset;
      while (c.length <= i) c.push(0);
      c[i]! += weight;
    }
    this.total += weight;
  }

  /** Adds `counts[j]` at key `from + j`. */
  addRun(from: number, counts: ArrayLike<number>): void {
    let first = 0;
    while (first < counts.length && counts[first] === 0) first++;
    if (first === counts.length) return;
    let last = counts.length - 1;
    while (counts[last] === 0) last--;
    this.add(from + first, counts[first]!);
    if (last > first) this.add(from + last, 0);
    const c = this.counts;
    let sum = 0;
    for (let j = first + 1; j <= last; j++) {
      c[from + j - this.offset]! += counts[j]!;
      sum += counts[j]!;
    }
    this.total += sum;
  }

  merge(other: Bins): void {
    this.addRun(other.offset, other.counts);
  }

  /** The library's `keyAtRank`: lower, the first key whose running count exceeds rank; else reaches rank + 1. */
  keyAtRank(rank: number, lower: boolean): number {
    let running = 0;
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      running += c[i]!;
      if (lower ? running > rank : running >= rank + 1) return i + this.offset;
    }
    return this.offset + c.length - 1;
  }

  /** The used range only: leading and trailing empty bins cut. */
  used(): { from: number; counts: number[] } {
    const c = this.counts;
    let first = 0;
    while (first < c.length && c[first] === 0) first++;
    let last = c.length - 1;
    while (last >= first && c[last] === 0) last--;
    return { from: this.offset + first, counts: c.slice(first, last + 1) };
  }
}

/**
 * A mergeable quantile sketch (DDSketch, 1 % relative accuracy) with exact count, sum, min and max.
 *
 * Written here rather than used from @datadog/sketches-js, whose stored form (its protobuf
 * `DDSketch` message) it reads and writes byte-compatibly: the library's `fromProto` goes through
 * protobufjs objects and its dense store for every stored bucket, which made a 30-day query spend
 * most of its time decoding, and its `merge()` drops the negative store (DataDog/sketches-js#22).
 * Here a stored sketch is decoded straight into the bins it merges into (`mergeBytes`), both stores
 * merge, and min, max and sum (which the message does not carry) travel beside the bytes.
 */
export class QuantileSketch {
  private readonly positive = new Bins();
  private readonly negative = new Bins();
  private zeros = 0;
  private stats: SketchStats = { count: 0, sum: 0, min: Infinity, max: -Infinity };

  private constructor() {}

  static empty(): QuantileSketch {
    return new QuantileSketch();
  }

  static of(values: Iterable<number>): QuantileSketch {
    const s = new QuantileSketch();
    for (const v of values) s.add(v);
    return s;
  }

  /** A stored sketch: its bytes and the stats kept beside them. */
  static fromBytes(bytes: Uint8Array, stats: SketchStats): QuantileSketch {
    const s = new QuantileSketch();
    s.mergeBytes(bytes, stats);
    return s;
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
    if (value > MIN_POSITIVE) this.positive.add(keyOf(value), 1);
    else if (value < -MIN_POSITIVE) this.negative.add(keyOf(-value), 1);
    else this.zeros++;
    const s = this.stats;
    s.count++;
    s.sum += value;
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
  }

  /** Folds `other` into this sketch; `other` is left as it was. */
  merge(other: QuantileSketch): void {
    if (other.stats.count === 0) return;
    this.positive.merge(other.positive);
    this.negative.merge(other.negative);
    this.zeros += other.zeros;
    this.track(other.stats);
  }

  /** Folds in a stored sketch without building one: its bytes decoded straight into these bins. */
  mergeBytes(bytes: Uint8Array, stats: SketchStats): void {
    decodeInto(bytes, this.positive, this.negative, (zeros) => (this.zeros += zeros));
    this.track(stats);
  }

  private track(o: SketchStats): void {
    const s = this.stats;
    s.count += o.count;
    s.sum += o.sum;
    if (o.min < s.min) s.min = o.min;
    if (o.max > s.max) s.max = o.max;
  }

  /**
   * The value at quantile `q` (0..1): the sample of rank floor(q·(count−1)) in sorted order, within
   * 1 % of it (the sketch's guarantee), never outside [min, max]; null when empty. The same walk
   * as the library's `getValueAtQuantile`.
   */
  quantile(q: number): number | null {
    const total = this.negative.total + this.zeros + this.positive.total;
    if (this.stats.count === 0 || total === 0) return null;
    const rank = q * (total - 1);
    let v: number;
    if (rank < this.negative.total) v = -valueOf(this.negative.keyAtRank(this.negative.total - rank - 1, false));
    else if (rank < this.zeros + this.negative.total) v = 0;
    else v = valueOf(this.positive.keyAtRank(rank - this.zeros - this.negative.total, true));
    return Math.min(this.stats.max, Math.max(this.stats.min, v));
  }

  /** The library's protobuf `DDSketch` message (logarithmic mapping, dense stores cut to the keys in use). */
  toBytes(): Uint8Array {
    return encode(this.positive.used(), this.negative.used(), this.zeros);
  }

  statsOf(): SketchStats {
    return { ...this.stats };
  }
}

// The wire format of the library's sketch.proto: DDSketch { 1 IndexMapping mapping; 2 Store
// positiveValues; 3 Store negativeValues; 4 double zeroCount }, IndexMapping { 1 double gamma;
// 2 double indexOffset; 3 enum interpolation }, Store { 1 map<sint32, double> binCounts;
// 2 repeated double contiguousBinCounts (packed); 3 sint32 contiguousBinIndexOffset }.

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}
const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);

function storeSize(s: { from: number; counts: number[] }): number {
  if (s.counts.length === 0) return 0;
  const packed = s.counts.length * 8;
  return 1 + varintSize(packed) + packed + 1 + varintSize(zigzag(s.from));
}

const MAPPING_SIZE = 9 + 9 + 2;

function encode(pos: { from: number; counts: number[] }, neg: { from: number; counts: number[] }, zeros: number): Uint8Array {
  const ps = storeSize(pos);
  const ns = storeSize(neg);
  const size = 1 + 1 + MAPPING_SIZE + 1 + varintSize(ps) + ps + 1 + varintSize(ns) + ns + 9;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const byte = (b: number) => void (out[at++] = b);
  const varint = (n: number) => {
    while (n >= 0x80) {
      byte((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    byte(n);
  };
  const double = (d: number) => {
    view.setFloat64(at, d, true);
    at += 8;
  };
  byte(0x0a);
  varint(MAPPING_SIZE);
  byte(0x09);
  double(GAMMA);
  byte(0x11);
  double(0);
  byte(0x18);
  byte(0); // interpolation NONE: the logarithmic mapping
  for (const [tag, s, length] of [[0x12, pos, ps], [0x1a, neg, ns]] as const) {
    byte(tag);
    varint(length);
    if (s.counts.length === 0) continue;
    byte(0x12);
    varint(s.counts.length * 8);
    for (const c of s.counts) double(c);
    byte(0x18);
    varint(zigzag(s.from));
  }
  byte(0x21);
  double(zeros);
  return out;
}

class Reader {
  at: number;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    from = 0,
  ) {
    this.at = from;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.bytes[this.at++];
      if (b === undefined) throw new Error('truncated sketch');
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
  }
  sint(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  double(): number {
    const d = this.view.getFloat64(this.at, true);
    this.at += 8;
    return d;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.at += 8;
    else if (wire === 2) this.at += this.varint();
    else if (wire === 5) this.at += 4;
    else throw new Error(`sketch: unsupported wire type ${wire}`);
  }
}

function decodeInto(bytes: Uint8Array, positive: Bins, negative: Bins, zeros: (n: number) => void): void {
  const r = new Reader(bytes);
  while (r.at < bytes.length) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    if (field === 1 && tag % 8 === 2) checkMapping(r, r.varint());
    else if ((field === 2 || field === 3) && tag % 8 === 2) decodeStore(r, r.varint(), field === 2 ? positive : negative);
    else if (field === 4 && tag % 8 === 1) zeros(r.double());
    else r.skip(tag % 8);
  }
}

/** Only sketches of this store's mapping can be merged: another accuracy would break the 1 % guarantee. */
function checkMapping(r: Reader, length: number): void {
  const end = r.at + length;
  let gamma = NaN;
  let offset = 0;
  let interpolation = 0;
  while (r.at < end) {
    const tag = r.varint();
    if (tag === 0x09) gamma = r.double();
    else if (tag === 0x11) offset = r.double();
    else if (tag === 0x18) interpolation = r.varint();
    else r.skip(tag % 8);
  }
  if (Math.abs(gamma - GAMMA) > 1e-12 || offset !== 0 || interpolation !== 0) throw new Error('sketch: not of the store\'s mapping (1 % logarithmic)');
}

function decodeStore(r: Reader, length: number, into: Bins): void {
  const end = r.at + length;
  // The offset may follow the counts (the library writes it last): remember where they are.
  let countsAt = -1;
  let countsEnd = -1;
  let loose: number[] | undefined;
  let from = 0;
  while (r.at < end) {
    const tag = r.varint();
    if (tag === 0x12) {
      const n = r.varint();
      countsAt = r.at;
      countsEnd = r.at + n;
      r.at += n;
    } else if (tag === 0x11) (loose ??= []).push(r.double());
    else if (tag === 0x18) from = r.sint();
    else if (tag === 0x0a) {
      const entryEnd = r.at + r.varint();
      let key = 0;
      let count = 0;
      while (r.at < entryEnd) {
        const t = r.varint();
        if (t === 0x08) key = r.sint();
        else if (t === 0x11) count = r.double();
        else r.skip(t % 8);
      }
      if (count > 0) into.add(key, count);
    } else r.skip(tag % 8);
  }
  if (countsAt >= 0) {
    const counts = new Float64Array(Math.floor((countsEnd - countsAt) / 8));
    const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + countsAt, countsEnd - countsAt);
    for (let j = 0; j < counts.length; j++) counts[j] = view.getFloat64(j * 8, true);
    into.addRun(from, counts);
  }
  if (loose) into.addRun(from, loose);
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
