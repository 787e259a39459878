import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/lib/metric-aggregate.js';
import { coarsen, partialsOf } from '../../src/lib/metric-partials.js';
import { canonicalLabels, labelsHash, parseLabelFilter, prometheusName } from '../../src/lib/metric-labels.js';
import { autoGranularity, expiredPartitions, partitionFor, partitionsBetween, relativeInstant } from '../../src/lib/metric-time.js';
import { exactQuantile, QuantileSketch, relativeError } from '../../src/lib/quantile-sketch.js';

const { DDSketch } = createRequire(import.meta.url)('@datadog/sketches-js') as typeof import('@datadog/sketches-js');
const QS = [0.5, 0.95, 0.99];

/** Splits values into `parts` sketches, round trips each through its bytes, merges them back. */
function mergedThroughBytes(values: number[], parts: number): QuantileSketch {
  const merged = QuantileSketch.empty();
  for (let p = 0; p < parts; p++) {
    const s = QuantileSketch.of(values.filter((_, i) => i % parts === p));
    merged.merge(QuantileSketch.fromBytes(s.toBytes(), s.statsOf()));
  }
  return merged;
}

describe('quantile sketch', () => {
  it('the library alone loses negative values when merging; ours keeps them', () => {
    const a = [5, 6, 7];
    const b = [-10, -20, -30, -40, -50];
    const naive = new DDSketch({ relativeAccuracy: 0.01 });
    for (const v of a) naive.accept(v);
    const other = new DDSketch({ relativeAccuracy: 0.01 });
    for (const v of b) other.accept(v);
    naive.merge(other);
    const sorted = [...a, ...b].sort((x, y) => x - y);
    // The naive merge answers a positive value for the lowest quantile: the negatives are gone.
    expect(naive.getValueAtQuantile(0)).toBeGreaterThan(0);
    const ours = QuantileSketch.of(a);
    ours.merge(QuantileSketch.of(b));
    for (const q of [0, 0.25, 0.5, 0.75, 1]) expect(relativeError(ours.quantile(q)!, exactQuantile(sorted, q)!)).toBeLessThanOrEqual(0.01);
  });

  it('reads and writes the library\'s protobuf form: same keys, same answers, either way', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: 1e-3, max: 1e9, noNaN: true }), fc.double({ min: -1e6, max: -1e-3, noNaN: true }), fc.constant(0)), { minLength: 1, maxLength: 300 }), (values) => {
        const lib = new DDSketch({ relativeAccuracy: 0.01 });
        for (const v of values) lib.accept(v);
        const ours = QuantileSketch.of(values);
        const stats = ours.statsOf();
        // The library's bytes (whole grown stores, offset written last) decoded by ours, and ours by the library.
        const fromLib = QuantileSketch.fromBytes(lib.toProto(), stats);
        const byLib = DDSketch.fromProto(ours.toBytes());
        for (const q of [0, 0.1, 0.5, 0.95, 0.99, 1]) {
          const expected = Math.min(stats.max, Math.max(stats.min, lib.getValueAtQuantile(q)));
          // The same key, so the same bin value up to the last bits of pow().
          const same = (v: number | null) => expect(relativeError(v!, expected)).toBeLessThan(1e-12);
          same(ours.quantile(q));
          same(fromLib.quantile(q));
          same(Math.min(stats.max, Math.max(stats.min, byLib.getValueAtQuantile(q))));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('merges stored bytes into a sketch as it merges the sketch itself', () => {
    const a = QuantileSketch.of([3, -4, 0, 250, 7.5]);
    const b = QuantileSketch.of([-1e5, 12, 12, 0.01]);
    const viaSketch = QuantileSketch.fromBytes(a.toBytes(), a.statsOf());
    viaSketch.merge(QuantileSketch.fromBytes(b.toBytes(), b.statsOf()));
    const viaBytes = QuantileSketch.empty();
    viaBytes.mergeBytes(a.toBytes(), a.statsOf());
    viaBytes.mergeBytes(b.toBytes(), b.statsOf());
    expect(viaBytes.statsOf()).toEqual(viaSketch.statsOf());
    expect(viaBytes.toBytes()).toEqual(viaSketch.toBytes());
    for (const q of [0, 0.3, 0.5, 0.9, 1]) expect(viaBytes.quantile(q)).toBe(viaSketch.quantile(q));
  });

  it('refuses a sketch of another accuracy: merging it would break the 1 % guarantee', () => {
    const coarse = new DDSketch({ relativeAccuracy: 0.05 });
    coarse.accept(10);
    expect(() => QuantileSketch.fromBytes(coarse.toProto(), { count: 1, sum: 10, min: 10, max: 10 })).toThrow(/mapping/);
  });

  it('keeps count, sum, min and max that the protobuf form drops', () => {
    const s = QuantileSketch.of([1.5, -2, 40]);
    const back = QuantileSketch.fromBytes(s.toBytes(), s.statsOf());
    expect(back.statsOf()).toEqual({ count: 3, sum: 39.5, min: -2, max: 40 });
    expect(back.quantile(1)).toBe(40);
  });

  it('percentiles of merged sketches stay within 1 % of the exact value (random distributions)', () => {
    // Magnitudes a metric has (1e-3 to 1e9), either sign, and exact zeros.
    const magnitude = fc.double({ min: 1e-3, max: 1e9, noNaN: true });
    const signed = fc.oneof(magnitude, magnitude.map((v) => -v), fc.constant(0));
    const dist = fc.oneof(
      fc.array(signed, { minLength: 1, maxLength: 400 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }).map((u) => -Math.log(1 - u * 0.999999) * 250), { minLength: 1, maxLength: 400 }),
      fc.array(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 400 }),
      fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 400 }),
    );
    fc.assert(
      fc.property(dist, fc.integer({ min: 1, max: 12 }), (values, parts) => {
        const merged = mergedThroughBytes(values, parts);
        const sorted = values.slice().sort((x, y) => x - y);
        for (const q of QS) {
          const exact = exactQuantile(sorted, q)!;
          const got = merged.quantile(q)!;
          expect(relativeError(got, exact)).toBeLessThanOrEqual(0.01 + 1e-12);
        }
        expect(merged.count).toBe(values.length);
      }),
      { numRuns: 200 },
    );
  });

  it('the accumulator is exact on raw values and merges rollups', () => {
    const raw = new Accumulator();
    for (const v of [4, 1, 3, 2]) raw.addValue(v);
    expect(raw.summary()).toEqual({ count: 4, avg: 2.5, min: 1, max: 4, p50: 2, p95: 3, p99: 3 });
    const tiers = new Accumulator();
    const a = QuantileSketch.of([1, 2]);
    const b = QuantileSketch.of([3, 4]);
    tiers.addRollup(a.statsOf(), a);
    tiers.addRollup(b.statsOf(), b);
    expect(tiers.value('sum')).toBe(10);
    expect(tiers.value('count')).toBe(4);
    expect(relativeError(tiers.value('p50')!, 2)).toBeLessThanOrEqual(0.01);
  });
});

describe('metric time', () => {
  it('relative instants, auto granularity', () => {
    const now = new Date('2026-02-07T14:00:00.000Z');
    expect(relativeInstant('-1h', now)?.toISOString()).toBe('2026-02-07T13:00:00.000Z');
    expect(relativeInstant('-7d', now)?.toISOString()).toBe('2026-01-31T14:00:00.000Z');
    expect(relativeInstant('-30m', now)?.toISOString()).toBe('2026-02-07T13:30:00.000Z');
    expect(relativeInstant('1h', now)).toBeNull();
    const h = 3_600_000;
    expect(autoGranularity(0, h)).toBe('raw');
    expect(autoGranularity(0, 2 * h)).toBe('1m');
    expect(autoGranularity(0, 24 * h)).toBe('5m');
    expect(autoGranularity(0, 7 * 24 * h)).toBe('1h');
  });

  it('partitions by day, ISO week and month, and which ones retention drops', () => {
    const at = Date.parse('2026-02-07T14:00:00.000Z'); // a Saturday
    expect(partitionFor('metric_samples', 'day', at)).toMatchObject({ name: 'metric_samples_p20260207', to: new Date('2026-02-08T00:00:00.000Z') });
    expect(partitionFor('metric_rollup_1m', 'week', at).name).toBe('metric_rollup_1m_p20260202');
    expect(partitionFor('metric_rollup_1h', 'month', at).name).toBe('metric_rollup_1h_p20260201');
    expect(partitionsBetween('metric_samples', 'day', at - 2 * 86_400_000, at).map((p) => p.name)).toEqual(['metric_samples_p20260205', 'metric_samples_p20260206', 'metric_samples_p20260207']);
    const names = ['metric_samples_p20260130', 'metric_samples_p20260131', 'metric_samples_p20260201', 'other_p20200101'];
    expect(expiredPartitions('metric_samples', 'day', names, Date.parse('2026-02-01T00:00:00.000Z'))).toEqual(['metric_samples_p20260130', 'metric_samples_p20260131']);
  });
});

describe('metric labels', () => {
  it('canonical labels, filters, Prometheus names', () => {
    expect(canonicalLabels({ b: '2', a: '1' })).toBe('{"a":"1","b":"2"}');
    expect(labelsHash({ b: '2', a: '1' })).toBe(labelsHash({ a: '1', b: '2' }));
    expect(parseLabelFilter('env:prod,region:eu')).toEqual({ env: 'prod', region: 'eu' });
    expect(parseLabelFilter('env')).toBeNull();
    expect(prometheusName('system.cpu.usage')).toBe('system_cpu_usage');
    expect(prometheusName('9lives-x')).toBe('_9lives_x');
  });
});

describe('partial buckets', () => {
  it('split into batches, sketched per series and minute, then merged into minutes and hours, equal the samples sketched whole', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ series: fc.integer({ min: 1, max: 3 }), ms: fc.integer({ min: 0, max: 3 * 3_600_000 }), value: fc.double({ min: -1e6, max: 1e6, noNaN: true }) }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 5 }),
        (samples, batches) => {
          const parts = [];
          for (let b = 0; b < batches; b++) {
            const mine = samples.filter((_, i) => i % batches === b);
            parts.push(...partialsOf(mine.map((s) => s.series), mine.map((s) => s.ms), mine.map((s) => s.value), 60_000));
          }
          for (const step of [60_000, 3_600_000]) {
            const got = new Map(coarsen(parts, step).map((p) => [`${p.series}@${p.bucket}`, p.sketch]));
            const whole = new Map<string, number[]>();
            for (const s of samples) {
              const key = `${s.series}@${Math.floor(s.ms / step) * step}`;
              (whole.get(key) ?? whole.set(key, []).get(key)!).push(s.value);
            }
            expect([...got.keys()].sort()).toEqual([...whole.keys()].sort());
            for (const [key, values] of whole) {
              const sketch = got.get(key)!;
              const exact = QuantileSketch.of(values);
              expect(sketch.count).toBe(values.length);
              expect(sketch.min).toBe(Math.min(...values));
              expect(sketch.max).toBe(Math.max(...values));
              expect(sketch.sum).toBeCloseTo(exact.sum, 3);
              for (const q of [0, 0.5, 0.95, 0.99, 1]) expect(sketch.quantile(q)).toBe(exact.quantile(q));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
