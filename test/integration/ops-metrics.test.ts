import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/auth/actor.js';
import { COLLECTORS } from '../../src/modules/metrics/metrics.catalog.js';
import { agent, newAgentKey } from '../support/agent.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearer, createTestEnv, login, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

/**
 * The ops console's store-backed metrics on a fake clock: OPS_CONSOLE_METRICS entries going stale
 * when their exporter stops and fresh when it resumes, the time series at the asked step against
 * values computed here from the pushed samples, the throughput of statuses plus samples, the
 * console's own figures stored by the worker, bad parameters and access.
 */
const NOW = Date.parse('2026-02-07T14:05:30.000Z');
const clock = new FakeClock(new Date(NOW));
const CONSOLE_METRICS = {
  exporter_lag: { metric: 'exporter.lag', unit: 's' },
  lag_a: { metric: 'exporter.lag', labels: { host: 'a' } },
  never_sent: { metric: 'never.sent', unit: 'messages' },
};

let env: TestEnv;
let api: TestApp;
let db: pg.Client;
let viewer: Record<string, string>;
let operator: Record<string, string>;

const get = async (path: string, auth: Record<string, string> = viewer) => {
  const res = await fetch(`${api.url}/api/ops${path}`, { headers: auth });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const push = async (samples: { name: string; value: number; timestamp: number; tags?: Record<string, string> }[]) => {
  const res = await fetch(`${api.url}/api/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...operator },
    body: JSON.stringify({ samples: samples.map((s) => ({ ...s, timestamp: new Date(s.timestamp).toISOString() })) }),
  });
  expect(res.status).toBe(201);
};
const series = (params: Record<string, string | number>, auth?: Record<string, string>) => get(`/metrics/timeseries?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`, auth);
/** Moves the fake clock, with access tokens valid at the new time (they last 15 minutes). */
async function moveTo(ms: number): Promise<void> {
  clock.set(new Date(ms));
  // tokenFor keeps the first token; the users it made sign in again.
  viewer = bearer((await login(api.url, 'viewer@opsgraph.test', 'a-long-enough-password')).token);
  operator = bearer((await login(api.url, 'operator@opsgraph.test', 'a-long-enough-password')).token);
}
const rolledUp = () => waitFor(async () => Number((await db.query('SELECT count(*) AS n FROM metric_pending_partials')).rows[0].n) === 0, 15_000);

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({
    role: 'all',
    clock,
    overrides: { OPS_CONSOLE_METRICS: JSON.stringify(CONSOLE_METRICS), OPS_METRIC_STALE_SECONDS: '120', OPS_CONSOLE_SAMPLE_SECONDS: '1', RATE_LIMIT_STANDARD: '100000' },
  });
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  viewer = bearer(await tokenFor(api, 'VIEWER'));
  operator = bearer(await tokenFor(api, 'OPERATOR'));
  // The built-in collectors stamp their samples with the fake now; off, so that every sample but the console's own is one pushed here.
  const admin = bearer(await tokenFor(api, 'ADMIN'));
  for (const name of COLLECTORS) {
    const res = await fetch(`${api.url}/api/v1/metrics/collectors/${name}`, { method: 'PATCH', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ enabled: false }) });
    expect(res.status).toBe(200);
  }
});
afterAll(async () => {
  await db?.end();
  await env?.cleanup();
});

describe('stored console entries', () => {
  it('go stale when their exporter stops, with a note and since when, and fresh again when it resumes', async () => {
    const t0 = clock.now().getTime();
    await push([
      { name: 'exporter.lag', value: 5, timestamp: t0 - 1_000, tags: { host: 'a' } },
      { name: 'exporter.lag', value: 7, timestamp: t0, tags: { host: 'b' } },
    ]);
    let s = (await get('/metrics/summary')).body;
    expect(s.exporter_lag).toEqual({ metric: 'exporter.lag', value: 12, unit: 's', stale: false, context: { last_sample_at: new Date(t0).toISOString(), series: 2, combine: 'sum', stale_after_seconds: 120 } });
    expect(s.lag_a).toMatchObject({ metric: 'exporter.lag', value: 5, unit: null, stale: false, context: { series: 1, last_sample_at: new Date(t0 - 1_000).toISOString() } });
    expect(s.never_sent).toEqual({ metric: 'never.sent', value: null, unit: 'messages', stale: true, context: { note: 'no exporter sample', last_sample_at: null, stale_after_seconds: 120 } });
    expect(Object.keys(s)).toEqual(['coverage_ratio', 'throughput_mps', 'failover_latency_ms', 'runbook_exit_code', 'consumer_backlog_messages', 'exporter_lag', 'lag_a', 'never_sent']);

    // Host a stops first: at 120.5 s past its last sample it is out, b still counts.
    clock.set(new Date(t0 + 119_500));
    s = (await get('/metrics/summary')).body;
    expect(s.exporter_lag).toMatchObject({ value: 7, stale: false, context: { series: 1 } });
    expect(s.lag_a).toEqual({ metric: 'exporter.lag', value: null, unit: null, stale: true, context: { note: 'no exporter sample', last_sample_at: new Date(t0 - 1_000).toISOString(), stale_after_seconds: 120 } });

    // Both stopped.
    clock.set(new Date(t0 + 120_001));
    s = (await get('/metrics/summary')).body;
    expect(s.exporter_lag).toEqual({ metric: 'exporter.lag', value: null, unit: 's', stale: true, context: { note: 'no exporter sample', last_sample_at: new Date(t0).toISOString(), stale_after_seconds: 120 } });

    // The exporter resumes.
    const t1 = clock.now().getTime();
    await push([{ name: 'exporter.lag', value: 3, timestamp: t1, tags: { host: 'a' } }]);
    s = (await get('/metrics/summary')).body;
    expect(s.exporter_lag).toEqual({ metric: 'exporter.lag', value: 3, unit: 's', stale: false, context: { last_sample_at: new Date(t1).toISOString(), series: 1, stale_after_seconds: 120 } });
    expect(s.lag_a).toMatchObject({ value: 3, stale: false });
  });
});

describe('throughput_mps', () => {
  it('is the busiest second of the last minute, counting service statuses and metric samples together', async () => {
    await moveTo(NOW + 3_600_000);
    const now = clock.now().getTime();
    const ag = agent(api, await newAgentKey(api));
    const report = (at: number, names: string[]) => ag.status({ nodeId: 'ops/node-1', observedAt: new Date(at).toISOString(), services: names.map((name) => ({ name, status: 'OPERATIONAL' })) });
    // Second A: 3 statuses and 200 samples; second B: 1 status and 150 samples; 90 s ago: 500 samples, outside the window.
    expect((await report(now - 20_000, ['a', 'b', 'c'])).status).toBe(200);
    expect((await report(now - 10_000, ['a'])).status).toBe(200);
    const burst = (n: number, at: number) => Array.from({ length: n }, (_, i) => ({ name: 'burst.gauge', value: i, timestamp: at, tags: { i: String(i % 10) } }));
    await push([...burst(200, now - 20_000 + 400), ...burst(150, now - 10_000), ...burst(500, now - 90_000)]);
    const { body } = await get('/metrics/summary');
    expect(body.throughput_mps).toMatchObject({ metric: 'opsgraph_ingest_throughput_mps', unit: 'msg/s', stale: false, context: { window: 'max_over_time[1m]', statuses_peak: 3, samples_peak: 200 } });
    // The console's own samples (5 a second at most) land in the current second, never more than second A.
    expect(body.throughput_mps.value).toBe(203);
  });
});

describe('GET /api/ops/metrics/timeseries', () => {
  // One sample every 5 s for the last 40 minutes, on two series.
  const end = NOW + 7_200_000 + 45_000; // 16:05:45
  const raw: { t: number; v: number; host: string }[] = [];
  for (let t = end - 40 * 60_000; t <= end; t += 5_000) {
    const i = (t - end) / 5_000;
    raw.push({ t, v: 100 + ((i * 37) % 23) + Math.sin(i / 5) * 10, host: 'a' }, { t, v: -50 + (i % 7) * 3, host: 'b' });
  }
  /** Expected points, by hand: the steps ending with now's, each the aggregation of its samples. */
  function expected(stepS: number, minutes: number, agg: 'avg' | 'max' | 'sum' | 'count', host?: string) {
    const step = stepS * 1_000;
    const n = Math.ceil((minutes * 60_000) / step);
    const first = Math.floor(end / step) * step - (n - 1) * step;
    const buckets = new Map<number, number[]>();
    for (const s of raw) {
      if (s.t < first || s.t > end || (host && s.host !== host)) continue;
      const b = Math.floor(s.t / step) * step;
      (buckets.get(b) ?? buckets.set(b, []).get(b)!).push(s.v);
    }
    return [...buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([b, vs]) => ({ timestamp: new Date(b).toISOString(), value: { avg: vs.reduce((a, v) => a + v, 0) / vs.length, sum: vs.reduce((a, v) => a + v, 0), max: Math.max(...vs), count: vs.length }[agg] }));
  }
  const check = (got: { timestamp: string; value: number }[], want: ReturnType<typeof expected>, stepS: number) => {
    expect(got.map((p) => p.timestamp)).toEqual(want.map((p) => p.timestamp));
    got.forEach((p, i) => expect(p.value).toBeCloseTo(want[i]!.value, 6));
    for (let i = 1; i < got.length; i++) expect(Date.parse(got[i]!.timestamp) - Date.parse(got[i - 1]!.timestamp)).toBe(stepS * 1_000);
  };

  beforeAll(async () => {
    await moveTo(end);
    await push(raw.map((s) => ({ name: 'chart.gauge', value: s.v, timestamp: s.t, tags: { host: s.host } })));
    await rolledUp();
  });

  it('answers steps that no tier divides from the raw samples (90 s, avg by default)', async () => {
    const r = await series({ metric: 'chart.gauge', minutes: 30, step_seconds: 90 });
    expect(r.status).toBe(200);
    expect(r.body.metric).toBe('chart.gauge');
    expect(r.body.unit).toBeNull();
    expect(r.body.points).toHaveLength(20);
    check(r.body.points, expected(90, 30, 'avg'), 90);
  });

  it('adds up tier buckets into steps (2 min from 1m buckets, 10 min from 5m buckets), any aggregation, with a label filter', async () => {
    const two = await series({ metric: 'chart.gauge', minutes: 40, step_seconds: 120, aggregation: 'sum' });
    expect(two.status).toBe(200);
    expect(two.body.points).toHaveLength(20);
    check(two.body.points, expected(120, 40, 'sum'), 120);
    const ten = await series({ metric: 'chart.gauge', minutes: 40, step_seconds: 600, aggregation: 'max', labels: 'host:b' });
    check(ten.body.points, expected(600, 40, 'max', 'b'), 600);
    const count = await series({ metric: 'chart.gauge', minutes: 60, step_seconds: 3600, aggregation: 'count' });
    check(count.body.points, expected(3600, 60, 'count'), 3600);
    // The default: the last hour in steps of 60 s; the samples cover its last 40 minutes.
    const byDefault = await series({ metric: 'chart.gauge' });
    check(byDefault.body.points, expected(60, 60, 'avg'), 60);
    expect(byDefault.body.points.length).toBe(41);
  });

  it("answers the console's own figures, stored by the worker, by metric name or by summary key", async () => {
    const byKey = await waitFor(async () => {
      const r = await series({ metric: 'consumer_backlog_messages', minutes: 5, step_seconds: 10 });
      return r.status === 200 && r.body.points.length > 0 ? r.body : null;
    }, 10_000);
    expect(byKey).toMatchObject({ metric: 'opsgraph_consumer_backlog_messages', unit: 'messages' });
    expect(byKey.points.at(-1).timestamp).toBe(new Date(Math.floor(end / 10_000) * 10_000).toISOString());
    const byName = await series({ metric: 'opsgraph_consumer_backlog_messages', minutes: 5, step_seconds: 10 });
    expect(byName.body.metric).toBe('opsgraph_consumer_backlog_messages');
    const listed = (await (await fetch(`${api.url}/api/v1/metrics?collector=ops`, { headers: viewer })).json()) as { data: { name: string }[] };
    expect(listed.data.map((m) => m.name)).toContain('opsgraph_ingest_throughput_mps');
  });

  it('refuses bad parameters naming the field, and an unknown metric with 404', async () => {
    const cases: [Record<string, string | number>, string][] = [
      [{ metric: 'chart.gauge', minutes: 0 }, 'minutes'],
      [{ metric: 'chart.gauge', minutes: 10_081 }, 'minutes'],
      [{ metric: 'chart.gauge', minutes: 'hour' }, 'minutes'],
      [{ metric: 'chart.gauge', step_seconds: 9 }, 'step_seconds'],
      [{ metric: 'chart.gauge', step_seconds: 3_601 }, 'step_seconds'],
      [{ metric: 'chart.gauge', step_seconds: 1.5 }, 'step_seconds'],
      // 10080 minutes in steps of 60 s is 10,080 points.
      [{ metric: 'chart.gauge', minutes: 10_080, step_seconds: 60 }, 'step_seconds'],
      [{ metric: 'chart.gauge', aggregation: 'median' }, 'aggregation'],
      [{ metric: 'chart.gauge', labels: 'nocolon' }, 'labels'],
      [{ metric: 'chart.gauge', step: 60 }, 'step'],
      [{ minutes: 5 }, 'metric'],
    ];
    for (const [params, field] of cases) {
      const r = await series(params);
      expect([JSON.stringify(params), r.status, r.body.error?.code, r.body.error?.details?.field]).toEqual([JSON.stringify(params), 400, 'ERR_1001', field]);
    }
    // 1,000 points exactly is allowed.
    expect((await series({ metric: 'chart.gauge', minutes: 10_000, step_seconds: 600 })).status).toBe(200);
    const unknown = await series({ metric: 'no.such.metric' });
    expect([unknown.status, unknown.body.error.code, unknown.body.error.details.field]).toEqual([404, 'ERR_1002', 'metric']);
  });
});

describe('access', () => {
  it('as every /api/ops route: viewers and ops keys read; other keys are refused, anonymous callers too', async () => {
    const keys = api.app.auth.apiKeys;
    const ops = bearer((await keys.create({ name: 'console', scopes: ['ops'] }, systemActor('test'))).secret);
    const metricsKey = bearer((await keys.create({ name: 'exporter', scopes: ['metrics'] }, systemActor('test'))).secret);
    const unscoped = bearer((await keys.create({ name: 'any' }, systemActor('test'))).secret);
    expect((await series({ metric: 'chart.gauge' }, ops)).status).toBe(200);
    expect((await get('/metrics/summary', ops)).status).toBe(200);
    for (const key of [metricsKey, unscoped]) {
      expect((await series({ metric: 'chart.gauge' }, key)).status).toBe(403);
      expect((await get('/metrics/summary', key)).status).toBe(403);
    }
    expect((await fetch(`${api.url}/api/ops/metrics/timeseries?metric=chart.gauge`)).status).toBe(401);
  });
});
