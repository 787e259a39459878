import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactQuantile, relativeError } from '../../src/lib/quantile-sketch.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearer, createTestEnv, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

/**
 * The metrics store end to end on a fake clock: pushes, the rollup tiers against values computed
 * here from the same raw samples, late samples, label filters, the cardinality cap, bad input,
 * and retention dropping partitions.
 */
const NOW = '2026-02-07T14:05:30.000Z';
const T0 = Date.parse('2026-02-07T11:00:00.000Z');
const STEP = 20_000; // one sample every 20 s for 3 h
const N = (3 * 3_600_000) / STEP;
const SERIES = [
  { tags: { env: 'prod', region: 'eu' }, f: (i: number) => 50 + 30 * Math.sin(i / 7) + (i % 11) },
  { tags: { env: 'prod', region: 'us' }, f: (i: number) => ((i * 37) % 101) - 20 },
  { tags: { env: 'dev', region: 'eu' }, f: (i: number) => 1_000 + (i % 5) * 3.5 },
];

let env: TestEnv;
let api: TestApp;
let db: pg.Client;
let operator: Record<string, string>;
let viewer: Record<string, string>;
const clock = new FakeClock(NOW);

const post = (body: unknown, headers = operator) =>
  fetch(`${api.url}/api/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
async function query(name: string, params: Record<string, string>) {
  const res = await fetch(`${api.url}/api/v1/metrics/${name}?${new URLSearchParams(params)}`, { headers: viewer });
  return { status: res.status, body: (await res.json()) as { data: Answer; error?: { code: string; details: { field?: string } } } };
}
interface Answer {
  granularity: string;
  start: string;
  dataPoints: { timestamp: string; value: number }[];
  summary: Record<string, number | null>;
}
const count = async (table: string) => Number((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
/** One query after another: a pg.Client runs one query at a time. */
const countAll = async () => {
  const counts: number[] = [];
  for (const table of CUSTOM_ROWS) counts.push(await count(table));
  return counts;
};
/** What pushes stored (the in-process collectors write meanwhile): samples, series and definitions of `custom` metrics. */
const CUSTOM_ROWS = [
  `metric_samples m JOIN "MetricSeries" s ON s.id = m.series_id JOIN "MetricDefinition" d ON d.id = s."metricId" AND d.collector = 'custom'`,
  `"MetricSeries" s JOIN "MetricDefinition" d ON d.id = s."metricId" AND d.collector = 'custom'`,
  `"MetricDefinition" WHERE collector = 'custom'`,
];
const rolledUp = () => waitFor(async () => (await count('metric_pending_partials')) === 0, 15_000);

/** What a tier's buckets must hold, computed here from the raw samples. */
function expected(step: number, values: { t: number; v: number }[], aggregation: string) {
  const buckets = new Map<number, number[]>();
  for (const { t, v } of values) {
    const b = step === 0 ? t : Math.floor(t / step) * step;
    (buckets.get(b) ?? buckets.set(b, []).get(b)!).push(v);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, vs]) => {
      const sorted = vs.slice().sort((x, y) => x - y);
      const sum = vs.reduce((a, v) => a + v, 0);
      const value = { avg: sum / vs.length, sum, min: sorted[0]!, max: sorted[sorted.length - 1]!, count: vs.length, p50: exactQuantile(sorted, 0.5)!, p95: exactQuantile(sorted, 0.95)!, p99: exactQuantile(sorted, 0.99)! }[aggregation]!;
      return { timestamp: new Date(b).toISOString(), value };
    });
}

const samples = SERIES.flatMap((s) => Array.from({ length: N }, (_, i) => ({ name: 'test.latency', value: s.f(i), timestamp: new Date(T0 + i * STEP).toISOString(), tags: s.tags })));

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'all', clock, overrides: { METRICS_MAX_SERIES_PER_METRIC: '20', RATE_LIMIT_METRICS_QUERY: '100000', RATE_LIMIT_STANDARD: '100000' } });
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  operator = bearer(await tokenFor(api, 'OPERATOR'));
  viewer = bearer(await tokenFor(api, 'VIEWER'));
  const res = await post({ samples });
  expect(res.status).toBe(201);
  expect(await res.json()).toEqual({ success: true, accepted: samples.length });
  await rolledUp();
});
afterAll(async () => {
  await db?.end();
  await env.cleanup();
});

describe('metric queries against the raw samples', () => {
  const aggregations = ['avg', 'sum', 'min', 'max', 'count', 'p50', 'p95', 'p99'];
  const tiers = { raw: 0, '1m': 60_000, '5m': 300_000, '1h': 3_600_000 } as const;
  for (const [granularity, step] of Object.entries(tiers)) {
    it(`every aggregation at ${granularity}`, async () => {
      const raw = samples.map((s) => ({ t: Date.parse(s.timestamp), v: s.value }));
      for (const aggregation of aggregations) {
        const r = await query('test.latency', { start: new Date(T0).toISOString(), end: new Date(T0 + 3 * 3_600_000 - 1).toISOString(), granularity, aggregation });
        expect(r.status).toBe(200);
        expect(r.body.data.granularity).toBe(granularity);
        const want = expected(step, raw, aggregation);
        expect(r.body.data.dataPoints.map((p) => p.timestamp)).toEqual(want.map((p) => p.timestamp));
        r.body.data.dataPoints.forEach((p, i) => {
          const w = want[i]!.value;
          if (aggregation.startsWith('p') && step > 0) expect([aggregation, p.timestamp, relativeError(p.value, w)]).toSatisfy(([, , e]) => (e as number) <= 0.01);
          else expect(p.value).toBeCloseTo(w, 6);
        });
        const sorted = raw.map((x) => x.v).sort((a, b) => a - b);
        expect(r.body.data.summary.count).toBe(raw.length);
        for (const [k, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) expect(relativeError(r.body.data.summary[k]!, exactQuantile(sorted, q)!)).toBeLessThanOrEqual(0.01);
      }
    });
  }

  it('auto picks the coarsest tier with at least 100 points; relative start', async () => {
    const r = await query('test.latency', { start: '-3h', aggregation: 'count' });
    expect(r.status).toBe(200);
    expect(r.body.data.granularity).toBe('1m');
    expect(r.body.data.start).toBe(new Date(Date.parse(NOW) - 3 * 3_600_000).toISOString());
    const short = await query('test.latency', { start: '-30m' });
    expect(short.body.data.granularity).toBe('raw');
  });

  it('label filters: all given labels must match', async () => {
    const eu = await query('test.latency', { start: new Date(T0).toISOString(), end: new Date(T0 + 3_600_000).toISOString(), granularity: '1h', aggregation: 'count', labels: 'env:prod,region:eu' });
    expect(eu.body.data.dataPoints).toEqual([{ timestamp: new Date(T0).toISOString(), value: 180 }]);
    const prod = await query('test.latency', { start: new Date(T0).toISOString(), end: new Date(T0 + 3_600_000).toISOString(), granularity: '1h', aggregation: 'count', labels: 'env:prod' });
    expect(prod.body.data.dataPoints[0]!.value).toBe(360);
    const none = await query('test.latency', { start: new Date(T0).toISOString(), granularity: '1h', labels: 'env:nowhere' });
    expect(none.body.data.dataPoints).toEqual([]);
  });

  it('a late sample changes its closed buckets on every tier', async () => {
    const at = new Date(T0 + 10_000).toISOString();
    const res = await post({ name: 'test.latency', value: 99_999, timestamp: at, tags: { env: 'prod', region: 'eu' } });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ success: true, metric_id: expect.stringMatching(/^met_\d+$/), timestamp: at });
    await rolledUp();
    for (const granularity of ['1m', '5m', '1h']) {
      const r = await query('test.latency', { start: new Date(T0).toISOString(), end: new Date(T0 + 59_000).toISOString(), granularity, aggregation: 'max', labels: 'region:eu,env:prod' });
      expect([granularity, r.body.data.dataPoints[0]!.value]).toEqual([granularity, 99_999]);
    }
    const c = await query('test.latency', { start: new Date(T0).toISOString(), end: new Date(T0 + 59_000).toISOString(), granularity: '1m', aggregation: 'count' });
    expect(c.body.data.dataPoints[0]!.value).toBe(3 * 3 + 1);
  });

  it('unknown metric is 404 ERR_1002', async () => {
    const r = await query('no.such.metric', { start: '-1h' });
    expect([r.status, r.body.error?.code]).toEqual([404, 'ERR_1002']);
  });
});

describe('refused input stores nothing', () => {
  const ok = { name: 'test.bad', value: 1, timestamp: NOW, tags: { a: 'b' } };
  const manyLabels = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, 'v']));
  const cases: [string, unknown, string][] = [
    ['NaN as a string', { samples: [ok, { ...ok, value: 'NaN' }] }, 'samples[1].value'],
    ['Infinity as a string', [ok, ok, { ...ok, value: 'Infinity' }], 'samples[2].value'],
    ['1e309', `{"samples":[${JSON.stringify(ok)},{"name":"test.bad","value":1e309}]}`, 'samples[1].value'],
    ['a 300-character name', { samples: [{ ...ok, name: 'a'.repeat(300) }] }, 'samples[0].name'],
    ['1,000 labels', { samples: [ok, ok, ok, { ...ok, tags: manyLabels }] }, 'samples[3].tags'],
    ['a label key over 100 characters', { samples: [{ ...ok, tags: { ['k'.repeat(101)]: 'v' } }] }, 'samples[0].tags'],
    ['a label value over 200 characters', { samples: [{ ...ok, tags: { k: 'v'.repeat(201) } }] }, 'samples[0].tags.k'],
    ['a timestamp far ahead', { samples: [ok, ok, ok, { ...ok, timestamp: '2026-02-07T15:00:00.000Z' }] }, 'samples[3].timestamp'],
    ['a timestamp older than raw retention', { samples: [{ ...ok, timestamp: '2026-01-20T00:00:00.000Z' }] }, 'samples[0].timestamp'],
    ['a single body with a bad timestamp', { ...ok, timestamp: '2026-02-08T00:00:00.000Z' }, 'timestamp'],
    ['an unknown field', { samples: [{ ...ok, labels: {} }] }, 'samples[0].labels'],
  ];
  it.each(cases)('%s: 400 naming the field', async (_what, body, field) => {
    const before = await countAll();
    const res = await post(body);
    const answer = (await res.json()) as { error: { code: string; details: { field: string } } };
    expect([res.status, answer.error.code]).toEqual([400, 'ERR_1001']);
    expect(answer.error.details.field.startsWith(field)).toBe(true);
    expect(await countAll()).toEqual(before);
  });

  const badQueries: [string, Record<string, string>, string][] = [
    ['unknown aggregation', { start: '-1h', aggregation: 'median' }, 'aggregation'],
    ['unknown granularity', { start: '-1h', granularity: '10s' }, 'granularity'],
    ['start after end', { start: '-1h', end: '-2h' }, 'start'],
    ['no start', {}, 'start'],
    ['a bad start', { start: 'yesterday' }, 'start'],
    ['a bad label filter', { start: '-1h', labels: 'env' }, 'labels'],
  ];
  it.each(badQueries)('query with %s: 400 naming it', async (_what, params, field) => {
    const r = await query('test.latency', params);
    expect([r.status, r.body.error?.code, r.body.error?.details.field]).toEqual([400, 'ERR_1001', field]);
  });

  it('the cardinality cap refuses a push with 422 ERR_1006 naming the metric, and stores nothing', async () => {
    const before = await count(CUSTOM_ROWS[0]!);
    const res = await post({ samples: Array.from({ length: 21 }, (_, i) => ({ name: 'test.wide', value: i, timestamp: NOW, tags: { id: String(i) } })) });
    const body = (await res.json()) as { error: { code: string; details: { metric: string } } };
    expect([res.status, body.error.code, body.error.details.metric]).toEqual([422, 'ERR_1006', 'test.wide']);
    expect(await count(CUSTOM_ROWS[0]!)).toBe(before);
    expect((await db.query(`SELECT count(*) AS n FROM "MetricSeries" s JOIN "MetricDefinition" d ON d.id = s."metricId" WHERE d.name = 'test.wide'`)).rows[0].n).toBe('0');
    expect((await post({ samples: Array.from({ length: 20 }, (_, i) => ({ name: 'test.wide', value: i, timestamp: NOW, tags: { id: String(i) } })) })).status).toBe(201);
  });

  it('pushes need an operator or an API key with the metrics scope', async () => {
    expect((await post({ samples: [ok] }, viewer)).status).toBe(403);
  });
});

describe('large pushes', () => {
  it('10,000 samples, over BODY_LIMIT, fit METRICS_BODY_LIMIT on the push route only', async () => {
    const big = { samples: Array.from({ length: 10_000 }, (_, i) => ({ name: 'test.big', value: i / 7, timestamp: NOW, tags: { host: `host-${String(i % 20).padStart(4, '0')}`, datacenter: 'eu-west-1' } })) };
    const text = JSON.stringify(big);
    expect(text.length).toBeGreaterThan(1_048_576); // BODY_LIMIT's default, 1mb
    const res = await post(text);
    expect([res.status, await res.json()]).toEqual([201, { success: true, accepted: 10_000 }]);
    const stored = await db.query(`SELECT count(*) AS n FROM metric_samples m JOIN "MetricSeries" s ON s.id = m.series_id JOIN "MetricDefinition" d ON d.id = s."metricId" WHERE d.name = 'test.big'`);
    expect(stored.rows[0].n).toBe('10000');
    // Any other route keeps BODY_LIMIT.
    const other = await fetch(`${api.url}/api/v1/metrics/collectors/system`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...operator }, body: JSON.stringify({ enabled: true, padding: text }) });
    expect(other.status).toBe(413);
  });
});

describe('GraphQL', () => {
  const graphql = async (query: string, variables: Record<string, unknown>) =>
    (await (await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...operator }, body: JSON.stringify({ query, variables }) })).json()) as {
      data?: Record<string, unknown>;
      errors?: { extensions: { code: string; field?: string } }[];
    };
  it('recordMetrics refuses a bad sample naming it, metricSeries answers as REST does', async () => {
    const push = 'mutation($s: [MetricSampleInput!]!) { recordMetrics(samples: $s) { accepted } }';
    const bad = await graphql(push, { s: [{ name: 'test.gql', value: 1 }, { name: 'test.gql', value: 1, timestamp: '2026-02-07T16:00:00.000Z' }] });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'samples[1].timestamp' });
    const ok = await graphql(push, { s: [{ name: 'test.gql', value: 4, labels: [{ key: 'env', value: 'prod' }] }] });
    expect(ok.data).toEqual({ recordMetrics: { accepted: 1 } });
    const params = { start: new Date(T0).toISOString(), end: new Date(T0 + 3_600_000).toISOString(), granularity: '5m', aggregation: 'p95' };
    const series = await graphql('query($start: String!, $end: String, $g: String, $a: String) { metricSeries(name: "test.latency", start: $start, end: $end, granularity: $g, aggregation: $a) { granularity dataPoints { timestamp value } summary { count p99 } } }', {
      start: params.start,
      end: params.end,
      g: params.granularity,
      a: params.aggregation,
    });
    const rest = await query('test.latency', params);
    expect(series.data?.metricSeries).toEqual({ granularity: '5m', dataPoints: rest.body.data.dataPoints, summary: { count: rest.body.data.summary.count, p99: rest.body.data.summary.p99 } });
  });
});

describe('retention', () => {
  it('drops whole partitions past each tier’s retention', async () => {
    const partitions = async () => (await db.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'metric_samples'`)).rows.map((r) => r.relname as string);
    expect(await partitions()).toContain('metric_samples_p20260207');
    clock.advance(9 * 86_400_000);
    await api.app.jobs.enqueueByName('metrics.partitions', {});
    // Now 2026-02-16: the days wholly before 2026-02-09 go, the later ones stay.
    await waitFor(async () => (await partitions()).every((n) => n >= 'metric_samples_p20260209'), 10_000);
    expect(await partitions()).toContain('metric_samples_p20260209');
    // The 1m tier is kept 30 days: its week is still there.
    const tier = (await db.query(`SELECT count(*) AS n FROM metric_rollup_1m`)).rows[0].n;
    expect(Number(tier)).toBeGreaterThan(0);
  });
});
