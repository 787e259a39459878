import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { exactQuantile, QuantileSketch, relativeError } from '../../src/lib/quantile-sketch.js';
import { createPartitions } from '../../src/modules/metrics/metrics.partitions.js';
import { createRollups, type Rollups } from '../../src/modules/metrics/metrics.rollups.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearer, createTestEnv, tokenFor, type TestApp, type TestEnv } from '../support/harness.js';

/**
 * The rollup job over the partial buckets the ingest writes: two workers' passes running at once
 * while pushes arrive still give tiers equal to the raw samples (nothing merged twice, nothing
 * lost), and a late sample changes its closed buckets. The API runs alone (role 'api': no job of
 * its own); the two workers are the job's pass on pools of their own.
 */
const NOW = '2026-03-10T12:00:30.000Z';
const T0 = Date.parse('2026-03-10T10:00:00.000Z');
const SERIES = 4;
const BATCHES = 24;
const PER_BATCH = 300;

let env: TestEnv;
let api: TestApp;
let db: pg.Client;
let operator: Record<string, string>;
const pools: pg.Pool[] = [];
const workers: Rollups[] = [];
const pushed: { host: string; t: number; v: number }[] = [];

const post = (samples: unknown[]) =>
  fetch(`${api.url}/api/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json', ...operator }, body: JSON.stringify({ samples }) });
const pending = async (on: pg.Client | pg.Pool = db) => Number((await on.query('SELECT count(*) AS n FROM metric_pending_partials')).rows[0].n);

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', clock: new FakeClock(NOW), overrides: { RATE_LIMIT_STANDARD: '100000' } });
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  operator = bearer(await tokenFor(api, 'OPERATOR'));
  const config = env.config();
  for (let i = 0; i < 2; i++) {
    const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    pools.push(pool);
    workers.push(createRollups({ pool, partitions: createPartitions({ pool, config, logger: createLogger(config) }), logger: createLogger(config) }));
  }
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db?.end();
  await env?.cleanup();
});

/** The tier rows of `test.rollup` per host and bucket. */
async function tier(table: string) {
  const rows = await db.query<{ host: string; bucket: Date; count: string; sum: number; min: number; max: number; sketch: Buffer }>(
    `SELECT s.labels->>'host' AS host, t.bucket, t.count, t.sum, t.min, t.max, t.sketch FROM ${table} t
       JOIN "MetricSeries" s ON s.id = t.series_id JOIN "MetricDefinition" d ON d.id = s."metricId" AND d.name = 'test.rollup'`,
  );
  return new Map(rows.rows.map((r) => [`${r.host}@${r.bucket.getTime()}`, QuantileSketch.fromBytes(r.sketch, { count: Number(r.count), sum: r.sum, min: r.min, max: r.max })]));
}

async function expectTiersExact() {
  for (const [table, step] of [['metric_rollup_1m', 60_000], ['metric_rollup_5m', 300_000], ['metric_rollup_1h', 3_600_000]] as const) {
    const want = new Map<string, number[]>();
    for (const p of pushed) {
      const key = `${p.host}@${Math.floor(p.t / step) * step}`;
      (want.get(key) ?? want.set(key, []).get(key)!).push(p.v);
    }
    const got = await tier(table);
    expect([...got.keys()].sort(), table).toEqual([...want.keys()].sort());
    for (const [key, values] of want) {
      const s = got.get(key)!;
      const sorted = values.slice().sort((a, b) => a - b);
      expect(s.count, `${table} ${key} count`).toBe(values.length);
      expect(s.min).toBe(sorted[0]);
      expect(s.max).toBe(sorted[sorted.length - 1]);
      expect(s.sum).toBeCloseTo(values.reduce((a, v) => a + v, 0), 6);
      for (const q of [0.5, 0.95, 0.99]) expect(relativeError(s.quantile(q)!, exactQuantile(sorted, q)!)).toBeLessThanOrEqual(0.01);
    }
  }
}

describe('rollups from partial buckets', () => {
  it('two workers passing at once while batches arrive give tiers equal to the raw samples', async () => {
    // Batches interleave in time, so consecutive batches share minutes, 5-minute and hour buckets.
    const batches = Array.from({ length: BATCHES }, (_, b) =>
      Array.from({ length: PER_BATCH }, (_, k) => {
        const host = `h${k % SERIES}`;
        const t = T0 + (k * BATCHES + b) * 1_000;
        const v = ((k * 31 + b * 17) % 211) - 40 + b / 7;
        pushed.push({ host, t, v });
        return { name: 'test.rollup', value: v, timestamp: new Date(t).toISOString(), tags: { host } };
      }),
    );
    let pushing = true;
    const passes = [0, 0];
    const work = workers.map(async (w, i) => {
      while (pushing || (await pending(pools[i]!)) > 0) passes[i]! += (await w.run()).partials;
    });
    for (let b = 0; b < BATCHES; b += 4) {
      const answers = await Promise.all(batches.slice(b, b + 4).map((s) => post(s)));
      for (const r of answers) expect(r.status).toBe(201);
    }
    pushing = false;
    await Promise.all(work);
    expect(passes[0]! + passes[1]!).toBeGreaterThan(0);
    expect(await pending()).toBe(0);
    await expectTiersExact();
  });

  it('a late sample changes its closed minute, five minutes and hour', async () => {
    const before = (await tier('metric_rollup_1h')).get(`h1@${T0}`)!;
    const late = { host: 'h1', t: T0 + 5_500, v: 123_456 };
    pushed.push(late);
    expect((await post([{ name: 'test.rollup', value: late.v, timestamp: new Date(late.t).toISOString(), tags: { host: late.host } }])).status).toBe(201);
    await Promise.all(workers.map((w) => w.run()));
    expect(await pending()).toBe(0);
    const after = (await tier('metric_rollup_1h')).get(`h1@${T0}`)!;
    expect(after.count).toBe(before.count + 1);
    expect(after.max).toBe(late.v);
    await expectTiersExact();
  });
});
