import { describe, expect, it } from 'vitest';
import { parseConsoleMetrics, peakPerSecond, stepPlan, storedReading } from '../../src/lib/ops-console.js';

describe('peakPerSecond', () => {
  it('adds the sources second by second before taking the busiest', () => {
    expect(peakPerSecond([{ second: 1_000, n: 3 }, { second: 2_000, n: 6 }], [{ second: 1_000, n: 5 }])).toBe(8);
    expect(peakPerSecond([{ second: 1_000, n: 3 }])).toBe(3);
    expect(peakPerSecond([], [])).toBe(0);
  });
});

describe('storedReading', () => {
  const now = new Date('2026-02-07T14:05:30.000Z');
  const at = (s: number) => new Date(now.getTime() - s * 1_000);
  const samples = [
    { value: 5, timestamp: at(130) },
    { value: 7, timestamp: at(10) },
    { value: 2, timestamp: at(120) },
  ];
  it('combines the series whose newest sample is within the window, the limit included', () => {
    expect(storedReading(samples, now, 120_000, 'sum')).toEqual({ fresh: true, value: 9, series: 2, newest: at(10) });
    expect(storedReading(samples, now, 120_000, 'avg')).toMatchObject({ value: 4.5 });
    expect(storedReading(samples, now, 120_000, 'min')).toMatchObject({ value: 2 });
    expect(storedReading(samples, now, 200_000, 'max')).toMatchObject({ value: 7, series: 3 });
  });
  it('is stale when none is, saying since when; never sent: null', () => {
    expect(storedReading(samples, now, 5_000, 'sum')).toEqual({ fresh: false, newest: at(10) });
    expect(storedReading([], now, 5_000, 'sum')).toEqual({ fresh: false, newest: null });
  });
});

describe('stepPlan', () => {
  const now = new Date('2026-02-07T14:05:45.000Z');
  it('aligns steps to the epoch, the newest holding now, as many as the window needs', () => {
    const p = stepPlan(now, 60, 60)!;
    expect(p).toMatchObject({ source: '1m', stepMs: 60_000, steps: 60, end: now });
    expect(p.start.toISOString()).toBe('2026-02-07T13:06:00.000Z');
    const odd = stepPlan(now, 30, 90)!;
    expect(odd.steps).toBe(20);
    expect(odd.start.getTime() % 90_000).toBe(0);
    expect(odd.start.getTime()).toBe(Math.floor(now.getTime() / 90_000) * 90_000 - 19 * 90_000);
    expect(stepPlan(now, 1, 3_600)).toMatchObject({ steps: 1, source: '1h' });
  });
  it('reads the coarsest tier whose bucket divides the step, raw samples when none does', () => {
    const source = (s: number) => stepPlan(now, 60, s)!.source;
    expect([10, 45, 90, 150].map(source)).toEqual(['raw', 'raw', 'raw', 'raw']);
    expect([60, 120, 240, 900].map(source)).toEqual(['1m', '1m', '1m', '5m']);
    expect([300, 600, 1_800].map(source)).toEqual(['5m', '5m', '5m']);
    expect(source(3_600)).toBe('1h');
  });
  it('refuses more than 1,000 points', () => {
    expect(stepPlan(now, 10_000, 600)?.steps).toBe(1_000);
    expect(stepPlan(now, 10_001, 600)).toBeNull();
    expect(stepPlan(now, 10_080, 60)).toBeNull();
  });
});

describe('parseConsoleMetrics', () => {
  it('reads entries with their defaults', () => {
    expect(parseConsoleMetrics('')).toEqual([]);
    expect(parseConsoleMetrics('{"lag": {"metric": "kafka.lag", "unit": "messages"}, "cpu": {"metric": "system.cpu.usage", "labels": {"host": "a"}, "combine": "max"}}')).toEqual([
      { key: 'lag', metric: 'kafka.lag', unit: 'messages', labels: {}, combine: 'sum' },
      { key: 'cpu', metric: 'system.cpu.usage', unit: null, labels: { host: 'a' }, combine: 'max' },
    ]);
  });
  it('names what is wrong', () => {
    expect(() => parseConsoleMetrics('{lag')).toThrow(/not JSON/);
    expect(() => parseConsoleMetrics('[]')).toThrow(/JSON object/);
    expect(() => parseConsoleMetrics('{"throughput_mps": {"metric": "x"}}')).toThrow(/throughput_mps: one of the console's own entries/);
    expect(() => parseConsoleMetrics('{"bad key": {"metric": "x"}}')).toThrow(/bad key: a key/);
    expect(() => parseConsoleMetrics('{"lag": {"metric": "1x"}}')).toThrow(/lag.metric/);
    expect(() => parseConsoleMetrics('{"lag": {"metric": "x", "unti": "s"}}')).toThrow(/lag.unti: unknown field/);
    expect(() => parseConsoleMetrics('{"lag": {"metric": "x", "labels": {"a": 1}}}')).toThrow(/lag.labels/);
    expect(() => parseConsoleMetrics('{"lag": {"metric": "x", "combine": "median"}}')).toThrow(/lag.combine/);
  });
});

describe('OPS_CONSOLE_METRICS in the config', () => {
  it('stops the start naming the variable and the entry', async () => {
    const { loadConfig } = await import('../../src/config.js');
    expect(() => loadConfig({ OPS_CONSOLE_METRICS: '{"lag": {"unit": "s"}}' })).toThrow(/OPS_CONSOLE_METRICS: lag.metric/);
    expect(loadConfig({ OPS_CONSOLE_METRICS: '{"lag": {"metric": "kafka.lag"}}' }).OPS_CONSOLE_METRICS).toHaveLength(1);
  });
});
