/**
 * The metrics store against a real Opsgraph (role 'all': API, rollup job, collectors) in its own
 * process, with its own migrated database and Redis prefix, both removed at the end:
 *
 * 1. Ingest: batches of 1,000 samples (100 series × 10 instants) through `POST /api/v1/metrics`,
 *    4 requests in flight, timed until the rollup tiers have caught up; against a raw `COPY` of the
 *    same number of rows into an unindexed table, in the same run.
 * 2. Queries over 30 days of 10-second data for 100 series (generated in SQL, rolled up by the
 *    server's own job): 24 h at 1m, 30 days at 1h with p99, 7 days `auto`; p50/p95 against the bare
 *    SQL that reads the same tier rows.
 * 3. Accuracy: worst relative error of p50/p95/p99 on every tier (per bucket and over the range)
 *    against the exact value from the raw samples.
 * 4. Collector overhead: the server's CPU with every collector at 10 s, idle otherwise.
 *
 * BENCH_METRICS_DAYS (default 30) sets the history's length.
 */
import { spawn } from 'node:child_process';
import { writeFile, rm, chmod } from 'node:fs/promises';
import { extname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/infra/logger.js';
import { createPartitions } from '../src/modules/metrics/metrics.partitions.js';
import { exactQuantile, relativeError } from '../src/lib/quantile-sketch.js';
import { withBenchDatabase, loginAsBenchAdmin, START_TIMEOUT_MS } from './db.js';
import { median, round, stopChild, table, type Bench, type BenchContext, type BenchResult } from './harness.js';
import { closedLoop, httpClient } from './ingest.load.js';

const SERIES = 100;
const BATCH = 1_000;
const IN_FLIGHT = 4;
const STEP_S = 10;
const DAY_MS = 86_400_000;
const days = Number(process.env.BENCH_METRICS_DAYS ?? 30);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const serverEntry = fileURLToPath(new URL(`./metrics.server${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

async function startMetricsServer(dbUrl: string, prefix: string, rawDays: number) {
  const child = spawn(process.execPath, ['--import', '@oxc-node/core/register', serverEntry, dbUrl, prefix, String(rawDays)], {
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  });
  const message = <T>(type: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`metrics bench server sent no ${type}`)), timeoutMs);
      const on = (m: { type?: string }) => {
        if (m?.type !== type) return;
        clearTimeout(timer);
        child.off('message', on);
        resolve(m as T);
      };
      child.on('message', on);
      child.once('exit', (code) => reject(new Error(`metrics bench server exited (${code})`)));
    });
  const ready = await message<{ url: string; apiKey: string }>('ready', START_TIMEOUT_MS).catch(async (err) => {
    await stopChild(child);
    throw err;
  });
  return {
    ...ready,
    cpu: async () => {
      const answer = message<{ userUs: number; systemUs: number; wallMs: number }>('cpu', 5_000);
      child.send({ type: 'cpu' });
      return answer;
    },
    stop: () => stopChild(child),
  };
}

async function pendingDrained(pool: pg.Pool, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while ((await pool.query('SELECT count(*)::int AS n FROM metric_pending_batches')).rows[0].n > 0) {
    if (performance.now() > until) throw new Error('rollups did not catch up in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function timed(durationSec: number, op: () => Promise<void>) {
  const r = await closedLoop(1, durationSec, op);
  if (r.count < 3) {
    const extra = await closedLoop(1, durationSec * 2, op);
    return { p50: extra.p50, p95: extra.p95 };
  }
  return { p50: r.p50, p95: r.p95 };
}

export default {
  description: 'metrics: batch ingest vs raw COPY, tier queries vs bare SQL, percentile accuracy, collector CPU',
  budgetSec: (d, r) => 1_800 + d * r * 10,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const figures: Record<string, number> = {};
    const ratios: Record<string, number> = {};
    await withBenchDatabase(ctx.log, async ({ name, url }) => {
      const server = await startMetricsServer(url, name, days + 2);
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      const http = httpClient(server.url, IN_FLIGHT + 2);
      try {
        const admin = await loginAsBenchAdmin(http);
        const auth = { authorization: `Bearer ${server.apiKey}` };

        // 1. Ingest.
        const base = Date.now() - 3_600_000;
        let tick = 0;
        const body = () => {
          const t = tick++;
          const samples = [];
          for (let k = 0; k < BATCH / SERIES; k++) {
            const ts = new Date(base + (t * (BATCH / SERIES) + k) * 10).toISOString();
            for (let s = 0; s < SERIES; s++) samples.push({ name: 'bench.ingest', value: (s * 7 + t + k) % 97, timestamp: ts, tags: { host: `h${s}` } });
          }
          return JSON.stringify({ samples });
        };
        const post = async () => {
          const r = await http.post('/api/v1/metrics', body(), auth);
          if (r.status !== 201) throw new Error(`push answered ${r.status}: ${r.body.slice(0, 200)}`);
        };
        await post(); // definitions and series
        await pendingDrained(pool, 60_000);
        const rates: number[] = [];
        for (let round_ = 0; round_ < ctx.rounds; round_++) {
          const t0 = performance.now();
          const load = await closedLoop(IN_FLIGHT, ctx.durationSec, post);
          await pendingDrained(pool, 120_000);
          rates.push((load.count * BATCH) / ((performance.now() - t0) / 1_000));
        }
        const ingestRate = median(rates);
        // The same number of rows as one round, COPY'd from a server-side file into an unindexed table.
        const rows = Math.round(ingestRate * ctx.durationSec);
        const file = `/tmp/${name}.csv`;
        const lines: string[] = [];
        for (let i = 0; i < rows; i++) lines.push(`${(i % SERIES) + 1},${new Date(base + i * 10).toISOString()},${i % 97},${i}`);
        await writeFile(file, lines.join('\n'));
        await chmod(file, 0o644);
        await pool.query('CREATE TABLE bench_copy (series_id bigint, ts timestamptz, value float8, batch_id bigint)');
        const copyRates: number[] = [];
        for (let round_ = 0; round_ < ctx.rounds; round_++) {
          await pool.query('TRUNCATE bench_copy');
          const t0 = performance.now();
          await pool.query(`COPY bench_copy FROM '${file}' WITH (FORMAT csv)`);
          copyRates.push(rows / ((performance.now() - t0) / 1_000));
        }
        await rm(file, { force: true });
        const copyRate = median(copyRates);
        figures['ingest.samples_per_s'] = round(ingestRate, 0);
        figures['copy.rows_per_s'] = round(copyRate, 0);
        ratios['ingest_vs_copy'] = round(ingestRate / copyRate, 3);
        ctx.log(table([['ingest', 'per s'], ['REST batches, rollups kept up', round(ingestRate, 0)], ['raw COPY, unindexed', round(copyRate, 0)]]).join('\n'));

        // 2. History: `days` days of 10-second samples for 100 series, in SQL, one pending batch per day.
        const now = Date.now();
        const from = Math.floor((now - days * DAY_MS) / 60_000) * 60_000;
        const seed = JSON.stringify({ samples: Array.from({ length: SERIES }, (_, s) => ({ name: 'bench.history', value: 0, timestamp: new Date(now).toISOString(), tags: { host: `h${s}` } })) });
        if ((await http.post('/api/v1/metrics', seed, auth)).status !== 201) throw new Error('history seed refused');
        await pendingDrained(pool, 60_000);
        const ids = (await pool.query(`SELECT s.id FROM "MetricSeries" s JOIN "MetricDefinition" d ON d.id = s."metricId" WHERE d.name = 'bench.history' ORDER BY s.id`)).rows.map((r) => r.id as string);
        const partitions = createPartitions({ pool, config: loadConfig({ DATABASE_URL: url, METRICS_RETENTION_RAW_DAYS: String(days + 2) }), logger: createLogger(loadConfig({ LOG_LEVEL: 'silent' })) });
        await partitions.ensure('raw', from, now);
        const g0 = performance.now();
        for (let d = 0; d < days; d++) {
          const dayFrom = new Date(from + d * DAY_MS);
          const dayTo = new Date(from + (d + 1) * DAY_MS - STEP_S * 1_000);
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            const batch = (await client.query("SELECT nextval('metric_batch_seq') AS id")).rows[0].id;
            // Daily and hourly waves, noise, and one series in ten mostly negative.
            await client.query(
              `INSERT INTO metric_samples (series_id, ts, value, batch_id)
               SELECT s, t, (100 + 50 * sin(extract(epoch FROM t) / 3600 + s) + 30 * sin(extract(epoch FROM t) / 86400) + 20 * random()) * CASE WHEN s % 10 = 0 THEN -1 ELSE 1 END, $4
                 FROM unnest($1::bigint[]) AS s, generate_series($2::timestamptz, $3::timestamptz, interval '${STEP_S} seconds') AS t`,
              [ids, dayFrom.toISOString(), dayTo.toISOString(), batch],
            );
            await client.query('INSERT INTO metric_pending_batches (id, min_ts, max_ts, samples) VALUES ($1, $2, $3, $4)', [batch, dayFrom.toISOString(), dayTo.toISOString(), (ids.length * DAY_MS) / (STEP_S * 1_000)]);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        }
        const generated = performance.now() - g0;
        await pendingDrained(pool, 1_500_000);
        const rolled = performance.now() - g0 - generated;
        const historyRows = (ids.length * days * DAY_MS) / (STEP_S * 1_000);
        ctx.log(`history: ${historyRows.toLocaleString('en-US')} samples generated in ${round(generated / 1_000, 1)} s, rolled up by the server in ${round(rolled / 1_000, 1)} s`);
        figures['history.rollup_samples_per_s'] = round(historyRows / (rolled / 1_000), 0);
        await pool.query('ANALYZE');

        const get = async (path: string) => {
          const res = await fetch(`${server.url}${path}`, { headers: admin });
          if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
          return ((await res.json()) as { data: { granularity: string; dataPoints: { timestamp: string; value: number }[]; summary: Record<string, number> } }).data;
        };
        const iso = (ms: number) => new Date(ms).toISOString();
        const queries = [
          { key: '24h_1m', path: `/api/v1/metrics/bench.history?start=${iso(now - DAY_MS)}&end=${iso(now)}&granularity=1m`, tier: 'metric_rollup_1m', start: now - DAY_MS, step: 60_000 },
          { key: '30d_1h_p99', path: `/api/v1/metrics/bench.history?start=${iso(now - days * DAY_MS)}&end=${iso(now)}&granularity=1h&aggregation=p99`, tier: 'metric_rollup_1h', start: now - days * DAY_MS, step: 3_600_000 },
          { key: '7d_auto', path: `/api/v1/metrics/bench.history?start=${iso(now - 7 * DAY_MS)}&end=${iso(now)}&granularity=auto`, tier: 'metric_rollup_1h', start: now - 7 * DAY_MS, step: 3_600_000 },
        ];
        const rowsOut: (string | number)[][] = [['query', 'p50 ms', 'p95 ms', 'bare p50', 'bare p95', 'ratio p95']];
        for (const q of queries) {
          const first = await get(q.path);
          if (q.key === '7d_auto' && first.granularity !== '1h') throw new Error(`auto answered ${first.granularity}`);
          const api = await timed(ctx.durationSec, async () => void (await get(q.path)));
          const bareStart = iso(Math.floor(q.start / q.step) * q.step);
          const bare = await timed(ctx.durationSec, async () => {
            await pool.query(`SELECT bucket, count, sum, min, max, sketch FROM ${q.tier} WHERE series_id = ANY($1::bigint[]) AND bucket >= $2 AND bucket < $3`, [ids, bareStart, iso(now)]);
          });
          figures[`query.${q.key}.p50_ms`] = round(api.p50, 1);
          figures[`query.${q.key}.p95_ms`] = round(api.p95, 1);
          figures[`bare.${q.key}.p95_ms`] = round(bare.p95, 1);
          ratios[`query_vs_bare_p95.${q.key}`] = round(api.p95 / bare.p95, 2);
          rowsOut.push([q.key, round(api.p50, 1), round(api.p95, 1), round(bare.p50, 1), round(bare.p95, 1), round(api.p95 / bare.p95, 2)]);
        }
        ctx.log(table(rowsOut).join('\n'));

        // 3. Accuracy on every tier: per bucket for one series with negative values and one without, and the summary of all series.
        let worst = 0;
        const windowFrom = Math.floor((now - 2 * DAY_MS) / 3_600_000) * 3_600_000;
        const windowTo = windowFrom + 12 * 3_600_000;
        for (const [tier, step] of [['1m', 60_000], ['5m', 300_000], ['1h', 3_600_000]] as const) {
          for (const host of ['h0', 'h3']) {
            const seriesId = ids[Number(host.slice(1))]!;
            const raw = (await pool.query(`SELECT (extract(epoch FROM ts) * 1000)::float8 AS ms, value FROM metric_samples WHERE series_id = $1 AND ts >= $2 AND ts < $3`, [seriesId, iso(windowFrom), iso(windowTo)])).rows as { ms: number; value: number }[];
            const byBucket = new Map<number, number[]>();
            for (const r of raw) (byBucket.get(Math.floor(r.ms / step) * step) ?? byBucket.set(Math.floor(r.ms / step) * step, []).get(Math.floor(r.ms / step) * step)!).push(r.value);
            for (const [agg, qv] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
              const answer = await get(`/api/v1/metrics/bench.history?start=${iso(windowFrom)}&end=${iso(windowTo - 1)}&granularity=${tier}&aggregation=${agg}&labels=host:${host}`);
              for (const p of answer.dataPoints) {
                const exact = exactQuantile(byBucket.get(Date.parse(p.timestamp))!.sort((a, b) => a - b), qv)!;
                worst = Math.max(worst, relativeError(p.value, exact));
              }
            }
          }
          const all = await get(`/api/v1/metrics/bench.history?start=${iso(windowFrom)}&end=${iso(windowTo - 1)}&granularity=${tier}`);
          const values = (await pool.query(`SELECT value FROM metric_samples WHERE series_id = ANY($1::bigint[]) AND ts >= $2 AND ts < $3 ORDER BY value`, [ids, iso(windowFrom), iso(windowTo)])).rows.map((r) => r.value as number);
          for (const [k, qv] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) worst = Math.max(worst, relativeError(all.summary[k]!, exactQuantile(values, qv)!));
        }
        figures['accuracy.worst_relative_error_pct'] = round(worst * 100, 3);
        ctx.log(`percentile accuracy: worst relative error ${round(worst * 100, 3)} % (goal ≤ 1 %)`);

        // 4. Collector overhead: every collector at its default 10 s, nothing else asked of the server.
        const window = Math.max(30, ctx.durationSec * 5);
        const c0 = await server.cpu();
        await new Promise((r) => setTimeout(r, window * 1_000));
        const c1 = await server.cpu();
        const cpuPct = ((c1.userUs + c1.systemUs - c0.userUs - c0.systemUs) / 1_000 / (c1.wallMs - c0.wallMs)) * 100;
        figures['collectors.server_cpu_pct_of_core'] = round(cpuPct, 2);
        ctx.log(`server CPU with every collector at 10 s, otherwise idle, over ${window} s: ${round(cpuPct, 2)} % of one core (goal < 2 %)`);
      } finally {
        http.close();
        await pool.end();
        await server.stop();
      }
    });
    return { figures, ratios };
  },
} satisfies Bench;
