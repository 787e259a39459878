/**
 * The alert evaluator and the webhook notifier, in this process, against a freshly migrated
 * database (removed at the end). 2,000 series (20 metrics × 100 hosts) with fresh samples and
 * 10,000 enabled rules (each on one metric and one host label: five rules per series, half of them
 * holding): evaluation cycle p50/p95 over 10 cycles (the first opens the 5,000 alerts), SQL
 * statements per cycle at 1,000 and at 10,000 rules, and the cycle against the bare statement that
 * reads the same samples. Then notifications delivered per second to a local HTTP receiver
 * (the delivery step: read the message, POST it signed, store the attempt), 32 at a time.
 *
 * The samples are stored and read through the metrics store (its ingest and its `latest` read, the
 * one statement the evaluator asks of it); the bare read is that statement alone.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createAuditRecorder } from '../src/infra/audit-recorder.js';
import type { Clock } from '../src/infra/clock.js';
import { createLogger } from '../src/infra/logger.js';
import { createOutbox } from '../src/infra/outbox.js';
import { sqlOf } from '../src/infra/sql.js';
import { loadConfig } from '../src/config.js';
import { createAlertEvaluator } from '../src/modules/alerts/alerts.evaluator.js';
import { createNotifier } from '../src/modules/alerts/alerts.notifier.js';
import { latestSamples } from '../src/modules/alerts/alerts.samples.js';
import { createIngest } from '../src/modules/metrics/metrics.ingest.js';
import { createPartitions } from '../src/modules/metrics/metrics.partitions.js';
import { createMetricsQuery } from '../src/modules/metrics/metrics.query.js';
import { createSlaEngine } from '../src/modules/sla/sla.engine.js';
import { createFleetService } from '../src/modules/sla/sla.fleet.js';
import { createDatabase } from '../src/infra/prisma.js';
import { REDIS_URL, withBenchDatabase } from './db.js';
import { median, round, type Bench, type BenchContext, type BenchResult } from './harness.js';

const METRICS = 20;
const HOSTS = 100;
const CYCLES = 10;
const NOTIFICATIONS = 2_000;
const CONCURRENCY = 32;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

/** Counts every statement the pool's clients send (pool.query borrows a client too, so it is counted there). */
function countStatements(pool: pg.Pool) {
  let n = 0;
  const wrap = (c: pg.PoolClient) => {
    const marked = c as unknown as { counted?: true; query: unknown };
    if (marked.counted) return;
    const q = c.query.bind(c) as (...a: unknown[]) => unknown;
    marked.query = (...a: unknown[]) => (n++, q(...a));
    marked.counted = true;
  };
  const connect = pool.connect.bind(pool) as (cb?: (err: Error | undefined, c: pg.PoolClient | undefined, done: unknown) => void) => Promise<pg.PoolClient> | undefined;
  (pool as unknown as { connect: unknown }).connect = (cb?: (err: Error | undefined, c: pg.PoolClient | undefined, done: unknown) => void) => {
    if (cb) return connect((err, c, done) => (c && wrap(c), cb(err, c, done)));
    return connect()!.then((c) => (wrap(c), c));
  };
  return () => n;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  return withBenchDatabase(ctx.log, async ({ name, url }) => {
    const config = loadConfig({ DATABASE_URL: url, REDIS_PREFIX: name, LOG_LEVEL: 'warn', DATABASE_POOL_MAX: '8' });
    const logger = createLogger(config);
    const database = createDatabase(config, logger);
    const redis = new Redis(REDIS_URL);
    let now = Date.now();
    const clock: Clock = { now: () => new Date(now) };
    const pool = database.pool;
    const statements = countStatements(pool);
    const sql = sqlOf(pool);
    const outbox = createOutbox({ pool, events: { send: async () => undefined }, jobs: { enqueue: async () => ({}) as never }, logger, ready: () => true });
    const licenses = { has: async () => false };
    const fleet = createFleetService({ db: database.prisma, pool, clock, events: { publish: async () => undefined } as never, logger, audit: createAuditRecorder({ clock }), staleMs: 90_000, licenses: { maxServices: async () => null } });
    const engine = createSlaEngine({ db: database.prisma, pool, clock, staleMs: 90_000, frozenMs: 86_400_000 });
    const partitions = createPartitions({ pool, config, logger });
    const ingest = createIngest({ pool, config, events: { publish: async () => undefined } as never, partitions });
    const metrics = createMetricsQuery({ pool, config, clock });
    const evaluator = createAlertEvaluator({ pool, clock, outbox, logger, licenses, fleet, engine, metrics, staleMs: 90_000, sampleStaleMs: 300_000 });
    const figures: Record<string, number> = {};
    const ratios: Record<string, number> = {};
    try {
      const samples = () =>
        ingest.ingest(
          Array.from({ length: METRICS * HOSTS }, (_, i) => ({ name: `bench.m${i % METRICS}`, value: 50, timestamp: new Date(now), labels: { host: `h${Math.floor(i / METRICS)}`, dc: 'eu' } })),
          'custom',
        );
      const addRules = (from: number, to: number) =>
        sql.execute(
          `INSERT INTO "AlertRule" (id, name, enabled, metric, labels, operator, threshold, duration, "keepFiringFor", severity, channels, metadata, "noData", "createdAt", "updatedAt")
           SELECT 'rule_bench_' || i, 'bench ' || i, true, 'bench.m' || (i % $3), jsonb_build_object('host', 'h' || ((i / $3) % $4)), '>', CASE WHEN i % 2 = 0 THEN 40 ELSE 60 END,
                  0, 0, 'low', ARRAY['console'], '{}', true, now(), now()
           FROM generate_series($1::int, $2::int - 1) AS i`,
          [from, to, METRICS, HOSTS],
        );
      await samples();
      const measure = async (rules: number) => {
        const times: number[] = [];
        const counts: number[] = [];
        for (let c = 0; c < CYCLES; c++) {
          now += 30_000;
          await samples();
          const before = statements();
          const t0 = performance.now();
          const outcome = await evaluator.evaluate();
          times.push(performance.now() - t0);
          counts.push(statements() - before);
          if (c === 0) ctx.log(`  first cycle at ${rules} rules: ${outcome.series} (rule, series) readings, ${outcome.transitions} transitions, ${round(times[0]!, 1)} ms`);
        }
        // The bare SQL that reads the same samples: one statement answering every (rule, matching
        // series, latest value), as a hand-written evaluator would read them; and the store's own read alone.
        const bare: number[] = [];
        const store: number[] = [];
        for (let c = 0; c < CYCLES; c++) {
          const t0 = performance.now();
          await sql.query(
            `SELECT r.id, s.labels, l.value, l.ts FROM "AlertRule" r
             JOIN "MetricDefinition" d ON d.name = r.metric JOIN "MetricSeries" s ON s."metricId" = d.id AND s.labels @> r.labels
             CROSS JOIN LATERAL (SELECT ts, value FROM metric_samples m WHERE m.series_id = s.id AND m.ts >= $1 ORDER BY ts DESC LIMIT 1) l
             WHERE r.enabled`,
            [new Date(now - 300_000)],
          );
          bare.push(performance.now() - t0);
          const t1 = performance.now();
          await metrics.latest({ names: Array.from({ length: METRICS }, (_, i) => `bench.m${i}`) });
          store.push(performance.now() - t1);
        }
        return { p50: pct(times, 50), p95: pct(times, 95), statements: median(counts), maxStatements: Math.max(...counts), bare: median(bare), store: median(store) };
      };
      // As autovacuum would have by then: the planner needs the tables' statistics.
      const analyze = () => sql.execute(`ANALYZE "AlertRule", "MetricSeries", "Alert", metric_samples`);
      await addRules(0, 1_000);
      await analyze();
      const small = await measure(1_000);
      ctx.log(`1,000 rules: cycle p50 ${round(small.p50, 1)} ms, p95 ${round(small.p95, 1)} ms, ${small.statements} statements per cycle (max ${small.maxStatements}); bare read ${round(small.bare, 1)} ms (the store's latest alone ${round(small.store, 1)} ms)`);
      await addRules(1_000, 10_000);
      await analyze();
      const big = await measure(10_000);
      ctx.log(`10,000 rules over ${METRICS * HOSTS} series: cycle p50 ${round(big.p50, 1)} ms, p95 ${round(big.p95, 1)} ms (goal < 2000), ${big.statements} statements per cycle (max ${big.maxStatements}); bare read ${round(big.bare, 1)} ms (the store's latest alone ${round(big.store, 1)} ms)`);
      Object.assign(figures, {
        'cycle.1000.p50_ms': round(small.p50, 1),
        'cycle.1000.p95_ms': round(small.p95, 1),
        'cycle.10000.p50_ms': round(big.p50, 1),
        'cycle.10000.p95_ms': round(big.p95, 1),
        'statements.1000': small.statements,
        'statements.10000': big.statements,
        'bare_read.10000_ms': round(big.bare, 1),
        'store_latest.10000_ms': round(big.store, 1),
      });
      ratios['cycle_vs_bare_read.10000'] = round(big.p50 / big.bare, 2);
      ratios['statements_10000_vs_1000'] = round(big.statements / small.statements, 2);
      ctx.log(`cycle / bare read (p50): ${ratios['cycle_vs_bare_read.10000']} (goal ≤ 3); statements 10,000 / 1,000 rules: ${ratios['statements_10000_vs_1000']}`);

      // ---------- notifications per second ----------
      const receiver = createServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200).end('ok'));
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      await sql.execute(`INSERT INTO "NotificationChannel" (id, name, type, enabled, config, secret, "createdAt", "updatedAt") VALUES ('ch_bench', 'bench', 'webhook', true, $1, 'bench-secret', now(), now())`, [JSON.stringify({ url: hook })]);
      const ids = Array.from({ length: NOTIFICATIONS }, () => randomUUID());
      const body = JSON.stringify({ version: '1', status: 'firing', groupKey: 'bench', alerts: [{ id: 'alt_bench', severity: 'low', status: 'firing' }], sentAt: new Date(now).toISOString() });
      await sql.execute(`INSERT INTO "Notification" (id, "channelId", kind, "groupKey", body) SELECT unnest($1::uuid[]), 'ch_bench', 'firing', 'bench', $2`, [ids, body]);
      const notifier = createNotifier({
        pool,
        redis,
        prefix: name,
        clock,
        logger,
        filePath: '/dev/null',
        resolveThroughSilence: true,
        denyPrivate: false,
        timeoutMs: 10_000,
        enqueueDispatch: async () => undefined,
        enqueueDeliver: async () => undefined,
      });
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ids.length) await notifier.deliver(ids[next++]!, { made: 0, max: 8 });
        }),
      );
      const seconds = (performance.now() - t0) / 1_000;
      const delivered = Number((await pool.query(`SELECT count(*) FROM "Notification" WHERE status = 'DELIVERED'`)).rows[0].count);
      figures['notifications_per_s'] = round(delivered / seconds, 0);
      ctx.log(`notifications: ${delivered} delivered to a local receiver in ${round(seconds, 2)} s: ${figures['notifications_per_s']}/s (goal ≥ 500)`);
      // The same receiver, the same concurrency, bare keep-alive POSTs of the same body: what the machine allows right now.
      const agent = new Agent({ keepAlive: true, maxSockets: 64 });
      let sent = 0;
      const b0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (sent++ < NOTIFICATIONS) {
            await new Promise<void>((resolve, reject) => {
              const req = request(hook, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
                res.resume();
                res.on('end', () => resolve());
              });
              req.on('error', reject);
              req.end(body);
            });
          }
        }),
      );
      agent.destroy();
      figures['bare_posts_per_s'] = round(NOTIFICATIONS / ((performance.now() - b0) / 1_000), 0);
      ratios['notifications_vs_bare_posts'] = round(figures['notifications_per_s']! / figures['bare_posts_per_s']!, 2);
      ctx.log(`bare POSTs to the same receiver: ${figures['bare_posts_per_s']}/s; notifications / bare: ${ratios['notifications_vs_bare_posts']}`);
      await new Promise<void>((r) => receiver.close(() => r()));
      return { figures, ratios };
    } finally {
      redis.disconnect();
      await database.close();
    }
  });
}

const bench: Bench = {
  description: 'alert evaluation cycles (10,000 rules over 2,000 series) and webhook notifications per second',
  budgetSec: () => 600,
  run,
};
export default bench;
