import { describe, expect, it } from 'vitest';
import { createProcessRuntime, RequestStats } from '../../src/infra/runtime.js';

describe('request tallies', () => {
  it('gives each consumer the requests since its own last take', () => {
    const stats = new RequestStats();
    const a = stats.consumer('a');
    stats.record({ route: '/x', method: 'GET', status: 200, ms: 4 });
    const b = stats.consumer('b');
    stats.record({ route: '/x', method: 'GET', status: 200, ms: 2 });
    stats.record({ route: '/x', method: 'GET', status: 500, ms: 9 });

    const first = a.take();
    expect(first).toHaveLength(2);
    expect(first.find((t) => t.status === 200)).toMatchObject({ count: 2, sumMs: 6, minMs: 2, maxMs: 4, durationsMs: [4, 2] });
    expect(a.take()).toEqual([]);
    // b registered after the first request and was not drained by a's take.
    expect(b.take().map((t) => [t.status, t.count])).toEqual([[200, 1], [500, 1]]);
  });

  it('keeps at most 256 durations per tally, all of them real', () => {
    const stats = new RequestStats();
    const c = stats.consumer('c');
    for (let i = 0; i < 10_000; i++) stats.record({ route: '/y', method: 'POST', status: 201, ms: i });
    const [t] = c.take();
    expect(t!.count).toBe(10_000);
    expect(t!.durationsMs).toHaveLength(256);
    expect(t!.durationsMs.every((d) => Number.isInteger(d) && d >= 0 && d < 10_000)).toBe(true);
    // A uniform sample reaches well past the first 256 requests.
    expect(Math.max(...t!.durationsMs)).toBeGreaterThan(5_000);
  });
});

describe('open connections', () => {
  it('counts each close once', () => {
    const rt = createProcessRuntime();
    const close = rt.open('ws');
    rt.open('http');
    expect(rt.connections()).toEqual({ http: 1, ws: 1 });
    close();
    close();
    expect(rt.connections()).toEqual({ http: 1, ws: 0 });
  });
});
