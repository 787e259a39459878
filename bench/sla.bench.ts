/**
 * The SLA read queries over a realistic history, against a real Opsgraph (all modules, role
 * 'api') in its own process, with its own freshly migrated PostgreSQL database and Redis prefix,
 * both removed at the end. The history is generated straight into the database, set-based:
 * 100 SLA groups × 20 services on 20 nodes, 30 days of 30 s reports expressed as the
 * StatusChange rows they produce (mostly OPERATIONAL, a few short DEGRADED or MAJOR_OUTAGE
 * episodes per service and day, deterministic), with the matching Incident rows. Then, one
 * request at a time: slaGroups, slaTrendData (daily, 3 months, all services), slaSnapshotTrend
 * (one service, 24 h) and slaDashboardStats: latency and SQL statements per request, first
 * computed all from history (no rollups, a few samples each), then with the daily rollups the
 * `sla.materialize` job writes (timed: the first full run). Last, a late report in yesterday goes
 * through the HTTP API and the time the job takes to re-materialize that day is measured.
 *
 * One round of BENCH_DURATION seconds per query (default 5 here), and at least 5 requests each. BENCH_SERVER_CPU_PROF=<dir>
 * writes a V8 CPU profile of the server there.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { systemClock } from '../src/infra/clock.js';
import { createLogger } from '../src/infra/logger.js';
import { createRollups } from '../src/modules/sla/sla.rollups.js';
import { loginAsBenchAdmin, START_TIMEOUT_MS, startServer, withBenchDatabase, type Server } from './db.js';
import { round, table, type Bench, type BenchContext, type BenchResult } from './harness.js';
import { closedLoop, httpClient, percentile } from './ingest.load.js';

const GROUPS = 100;
const SERVICES_PER_GROUP = 20;
const SERVICES = GROUPS * SERVICES_PER_GROUP;
const NODES = 20;
const DAYS = 30;
/** Outage episodes per service and day, one in each equal window of the day, 1–10 minutes each. */
const EPISODES_PER_DAY = 4;
const SLOT_SEC = 30;
const WARMUP_SEC = 1;
const DEFAULT_DURATION_SEC = 5;
const DAY_MS = 86_400_000;
/** A p95 needs some samples: a query slower than BENCH_DURATION / 5 is timed past BENCH_DURATION. */
const MIN_SAMPLES = 5;
/** What MIN_SAMPLES may cost per query at today's speed (about 3 s per slow request), for the budget. */
const SLOW_QUERY_SEC = 20;

interface Query {
  key: string;
  label: string;
  goalP95Ms: number;
  query: string;
  /** Throws unless the (parsed) data looks right. */
  check(data: Record<string, unknown>): string;
}

const PERIOD_FIELDS = 'periodKey periodStart actualValue targetValue incidentCount downtimeMinutes status';

type Period = { periodKey: string; actualValue: number | null; incidentCount: number; downtimeMinutes: number };

function fail(what: string, detail: string): never {
  throw new Error(`${what}: ${detail}`);
}

function queries(serviceId: string): Query[] {
  return [
    {
      key: 'sla_groups',
      label: 'slaGroups (100 groups × 20 services)',
      goalP95Ms: 50,
      query: '{ slaGroups { id status currentUptime services { serviceName status } } }',
      check(data) {
        const groups = data.slaGroups as { status: string; currentUptime: number | null; services: { status: string }[] }[];
        const services = groups.reduce((n, g) => n + g.services.length, 0);
        if (groups.length !== GROUPS || services !== SERVICES) fail('slaGroups', `${groups.length} groups, ${services} services; expected ${GROUPS} and ${SERVICES}`);
        // A group is down while any member is: 20 services × ~2 major outages a day each is ~3.5 h a day.
        const bad = groups.find((g) => g.currentUptime === null || g.currentUptime < 50 || g.currentUptime >= 100);
        if (bad) fail('slaGroups', `implausible currentUptime ${String(bad.currentUptime)}`);
        const statuses = new Map<string, number>();
        for (const g of groups) statuses.set(g.status, (statuses.get(g.status) ?? 0) + 1);
        const mean = groups.reduce((n, g) => n + g.currentUptime!, 0) / groups.length;
        return `${groups.length} groups, ${services} services, mean group uptime ${round(mean, 2)} %; group statuses ${[...statuses].map(([s, n]) => `${s} ${n}`).join(', ')}`;
      },
    },
    {
      key: 'sla_trend_daily_3m',
      label: 'slaTrendData DAILY, 3 months, all services',
      goalP95Ms: 150,
      query: `{ slaTrendData(filter: { periodType: "DAILY", monthsBack: 3 }) { ${PERIOD_FIELDS} } }`,
      check(data) {
        const periods = data.slaTrendData as Period[];
        if (periods.length < 85 || periods.length > 95) fail('slaTrendData', `${periods.length} daily periods for 3 months`);
        const withData = periods.filter((p) => p.actualValue !== null);
        if (withData.length < DAYS || withData.length > DAYS + 2) fail('slaTrendData', `${withData.length} days with data, expected about ${DAYS}`);
        const incidents = periods.reduce((n, p) => n + p.incidentCount, 0);
        if (incidents === 0) fail('slaTrendData', 'no incidents');
        const mid = withData[Math.floor(withData.length / 2)]!;
        return `${periods.length} days, ${withData.length} with data, ${incidents.toLocaleString('en-US')} incidents; e.g. ${mid.periodKey}: ${round(mid.actualValue!, 3)} %, ${round(mid.downtimeMinutes, 0)} min down`;
      },
    },
    {
      key: 'sla_snapshot_24h',
      label: 'slaSnapshotTrend, one service, 24 h',
      goalP95Ms: 30,
      query: `{ slaSnapshotTrend(serviceId: "${serviceId}", hoursBack: 24) { ${PERIOD_FIELDS} } }`,
      check(data) {
        const periods = data.slaSnapshotTrend as Period[];
        if (periods.length < 288 || periods.length > 290) fail('slaSnapshotTrend', `${periods.length} 5-minute buckets for 24 h`);
        const down = periods.filter((p) => p.downtimeMinutes > 0).length;
        const nulls = periods.filter((p) => p.actualValue === null).length;
        if (nulls > 1) fail('slaSnapshotTrend', `${nulls} buckets without data`);
        return `${periods.length} buckets, ${down} with downtime, ${periods.reduce((n, p) => n + p.incidentCount, 0)} incidents`;
      },
    },
    {
      key: 'sla_dashboard_stats',
      label: 'slaDashboardStats',
      goalP95Ms: 50,
      query: '{ slaDashboardStats { totalServices servicesWithSla metCount atRiskCount breachedCount averageUptime } }',
      check(data) {
        const s = data.slaDashboardStats as Record<string, number | null>;
        if (s.totalServices !== SERVICES || s.servicesWithSla !== SERVICES) fail('slaDashboardStats', `totalServices ${s.totalServices}, servicesWithSla ${s.servicesWithSla}; expected ${SERVICES}`);
        if (s.metCount! + s.atRiskCount! + s.breachedCount! !== SERVICES) fail('slaDashboardStats', `met + at risk + breached = ${s.metCount! + s.atRiskCount! + s.breachedCount!}`);
        if (s.averageUptime === null || s.averageUptime < 90 || s.averageUptime > 100) fail('slaDashboardStats', `averageUptime ${String(s.averageUptime)}`);
        return `met ${s.metCount}, at risk ${s.atRiskCount}, breached ${s.breachedCount}, average uptime ${round(s.averageUptime, 3)} %`;
      },
    },
  ];
}

/** The whole history, set-based; `now` is on the 30 s report grid, the history ends at it. */
async function generate(client: pg.Client, now: number): Promise<{ changes: number; incidents: number }> {
  const nowTs = new Date(now);
  const base = new Date(now - DAYS * DAY_MS);
  const slotsPerWindow = DAY_MS / 1000 / SLOT_SEC / EPISODES_PER_DAY;
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO "Node" (id, "operatorVersion", "lastReportAt", "lastHeartbeatAt", "watchedServices", "healthyServices", "unhealthyServices", "updatedAt")
     SELECT 'bench-node-' || lpad(n::text, 2, '0'), '1.4.2', $1, $1, $2::int / $3::int, $2::int / $3::int, 0, $1 FROM generate_series(0, $3::int - 1) n`,
    [nowTs, SERVICES, NODES],
  );
  await client.query(
    `INSERT INTO "SlaGroup" (id, name, "displayName", tier, "createdAt", "updatedAt")
     SELECT gen_random_uuid(), 'group-' || lpad(g::text, 3, '0'), 'Group ' || g, (ARRAY['critical', 'high', 'standard', 'low'])[g % 4 + 1], $1, $1
     FROM generate_series(0, $2::int - 1) g`,
    [base, GROUPS],
  );
  // Service i is in group i / 20 and on node i % 20: every group spans all nodes.
  await client.query(
    `INSERT INTO "Service" (id, "nodeId", name, namespace, "workloadType", replicas, "readyReplicas", "slaGroupId", status, "reportedStatus", "lastSeenAt", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), 'bench-node-' || lpad((i % $2::int)::text, 2, '0'), 'svc-' || lpad(i::text, 4, '0'), 'ns-' || (i / $3::int), 'Deployment', 3, 3,
            g.id, 'OPERATIONAL', 'OPERATIONAL', $1, $4, $1
     FROM generate_series(0, $5::int - 1) i JOIN "SlaGroup" g ON g.name = 'group-' || lpad((i / $3::int)::text, 3, '0')`,
    [nowTs, NODES, SERVICES_PER_GROUP, base, SERVICES],
  );
  // Per service, day and window: an episode starting on a 30 s report, 2–20 reports long
  // (1–10 minutes), DEGRADED or MAJOR_OUTAGE; md5 of (service, day, window) is the dice.
  const changes = await client.query(
    `WITH s AS (SELECT id, substring(name FROM 5)::int AS i FROM "Service"),
     ep AS (
       SELECT s.id, d, k, ('x' || substr(md5(s.i || ':' || d || ':' || k), 1, 16))::bit(64)::bigint AS h
       FROM s CROSS JOIN generate_series(0, $2::int - 1) d CROSS JOIN generate_series(0, $3::int - 1) k),
     e AS (
       SELECT id,
              $1::timestamptz + make_interval(secs => $5::int * (d * $3::int * $4::int + k * $4::int + 1 + (h & 65535) % ($4::int - 25))) AS start,
              make_interval(secs => $5::int * (2 + ((h >> 16) & 255) % 19)) AS len,
              (CASE WHEN (h >> 24) & 1 = 0 THEN 'DEGRADED' ELSE 'MAJOR_OUTAGE' END)::"ServiceStatus" AS status
       FROM ep)
     INSERT INTO "StatusChange" ("serviceId", at, status, "receivedAt")
     SELECT id, $1, 'OPERATIONAL', $1 FROM s
     UNION ALL SELECT id, start, status, start FROM e
     UNION ALL SELECT id, start + len, 'OPERATIONAL', start + len FROM e`,
    [base, DAYS, EPISODES_PER_DAY, slotsPerWindow, SLOT_SEC],
  );
  // Incidents as ingest keeps them: from each change to down until the next change (to up).
  const incidents = await client.query(
    `INSERT INTO "Incident" (id, "serviceId", "startedAt", "endedAt")
     SELECT md5(c."serviceId"::text || ':' || c.at::text)::uuid, c."serviceId", c.at,
            (SELECT min(n.at) FROM "StatusChange" n WHERE n."serviceId" = c."serviceId" AND n.at > c.at)
     FROM "StatusChange" c WHERE c.status IN ('PARTIAL_OUTAGE', 'MAJOR_OUTAGE')`,
  );
  // status / reportedStatus: that of each service's last change (OPERATIONAL here, by construction).
  await client.query(
    `UPDATE "Service" s SET status = l.status, "reportedStatus" = l.status
     FROM (SELECT DISTINCT ON ("serviceId") "serviceId", status FROM "StatusChange" ORDER BY "serviceId", at DESC) l WHERE l."serviceId" = s.id`,
  );
  await client.query('COMMIT');
  await client.query('ANALYZE');
  return { changes: changes.rowCount ?? 0, incidents: incidents.rowCount ?? 0 };
}

/**
 * What the agents' 30 s reports would do meanwhile, none of them a change: lastSeenAt moves to
 * now, so no service goes stale (STALE_AFTER_SECONDS, 90 s) while the bench runs.
 */
async function reportsArrive(client: pg.Client): Promise<void> {
  await client.query(`UPDATE "Service" SET "lastSeenAt" = now()`);
  await client.query(`UPDATE "Node" SET "lastReportAt" = now(), "lastHeartbeatAt" = now()`);
}

/**
 * One request at a time for `durationSec`, and on until MIN_SAMPLES are in; with the server's
 * SQL statements per request.
 */
async function sequential(server: Server, durationSec: number, op: () => Promise<void>) {
  const before = await server.statements();
  const latencies: number[] = [];
  const start = performance.now();
  while (performance.now() - start < durationSec * 1_000 || latencies.length < MIN_SAMPLES) {
    const t0 = performance.now();
    await op();
    latencies.push(performance.now() - t0);
  }
  const elapsedSec = (performance.now() - start) / 1_000;
  const statements = (await server.statements()) - before;
  const sorted = Float64Array.from(latencies).sort();
  return { count: latencies.length, rate: latencies.length / elapsedSec, p50: percentile(sorted, 50), p95: percentile(sorted, 95), statementsPerOp: statements / latencies.length };
}

const ms = (n: number) => `${round(n, 1)} ms`;
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

function durationOf(ctx: { durationSec: number }): number {
  return process.env.BENCH_DURATION ? ctx.durationSec : DEFAULT_DURATION_SEC;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const durationSec = durationOf(ctx);
  const { log } = ctx;
  log(`sla: one request at a time, ${durationSec} s per query after a ${WARMUP_SEC} s warm-up (one round; BENCH_ROUNDS is not used)`);
  return withBenchDatabase(log, async ({ name, url }) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      log('');
      log(`generating ${GROUPS} SLA groups × ${SERVICES_PER_GROUP} services on ${NODES} nodes, ${DAYS} days of 30 s reports as status changes (${EPISODES_PER_DAY} outage episodes of 1–10 min per service and day):`);
      const t0 = performance.now();
      const now = Math.floor(Date.now() / (SLOT_SEC * 1000)) * SLOT_SEC * 1000;
      const generated = await generate(client, now);
      const genMs = performance.now() - t0;
      const reports = SERVICES * DAYS * (DAY_MS / 1000 / SLOT_SEC);
      log(
        `  ${generated.changes.toLocaleString('en-US')} StatusChange rows (from ${reports.toLocaleString('en-US')} service reports) and ` +
          `${generated.incidents.toLocaleString('en-US')} Incident rows in ${round(genMs / 1000, 2)} s (insert, index and ANALYZE)`,
      );
      const server = await startServer(url, name);
      log(`Opsgraph (all modules, role api) listening at ${server.url}`);
      try {
        const figures: Record<string, number> = {
          'generate.status_changes': generated.changes,
          'generate.incidents': generated.incidents,
          'generate.seconds': round(genMs / 1000, 2),
        };
        const { rows } = await client.query<{ id: string }>(`SELECT id FROM "Service" WHERE name = 'svc-0000'`);
        const measured = await measure({ log, durationSec, server, client, url, serviceId: rows[0]!.id, figures });
        return measured;
      } finally {
        await server.stop();
      }
    } finally {
      await client.end();
    }
  });
}

async function measure(p: { log(line: string): void; durationSec: number; server: Server; client: pg.Client; url: string; serviceId: string; figures: Record<string, number> }): Promise<BenchResult> {
  const { log, durationSec, server, client, figures } = p;
  const http = httpClient(server.url, 1);
  const pool = new pg.Pool({ connectionString: p.url, max: 4 });
  // The job's own code on its own pool, as a worker runs it (without the queue around it).
  const rollups = createRollups({ pool, clock: systemClock, logger: createLogger({ LOG_LEVEL: 'warn' }), staleMs: 90_000 });
  const ratios: Record<string, number> = {};
  try {
    const auth = await loginAsBenchAdmin(http);
    const list = queries(p.serviceId);
    const asker = (q: Query) => async (): Promise<string> => {
      const answer = await http.post('/graphql', JSON.stringify({ query: q.query }), auth);
      if (answer.status !== 200 || answer.body.includes('"errors"')) throw new Error(`${q.key}: HTTP ${answer.status} ${answer.body.slice(0, 500)}`);
      return answer.body;
    };

    log('');
    log(`all from history (no rollups yet), ${MIN_SAMPLES} requests each:`);
    for (const q of list) {
      const ask = asker(q);
      await reportsArrive(client);
      q.check((JSON.parse(await ask()) as { data: Record<string, unknown> }).data);
      const r = await sequential(server, 0, async () => void (await ask()));
      figures[`${q.key}.live.p95_ms`] = round(r.p95, 2);
      log(`  ${q.label}: p50 ${ms(r.p50)}, p95 ${ms(r.p95)}, ${round(r.statementsPerOp, 2)} SQL statements per request`);
    }

    log('');
    const t0 = performance.now();
    const first = await rollups.materialize();
    figures['materialize.first_run_s'] = round((performance.now() - t0) / 1000, 2);
    figures['materialize.first_run_days'] = first.days;
    log(`sla.materialize, first run: ${first.services.toLocaleString('en-US')} services and ${first.groups} groups, ${first.days.toLocaleString('en-US')} daily rows in ${figures['materialize.first_run_s']} s`);

    log('');
    log('with the daily rollups, one request at a time, as the bench admin:');
    for (const q of list) {
      const ask = asker(q);
      await reportsArrive(client);
      // Checked in full once; the timed requests only look for errors.
      const body = await ask();
      const parsed = JSON.parse(body) as { data?: Record<string, unknown> };
      if (!parsed.data) throw new Error(`${q.key}: no data`);
      const described = q.check(parsed.data);
      const op = async () => void (await ask());
      await closedLoop(1, WARMUP_SEC, op);
      const r = await sequential(server, durationSec, op);
      figures[`${q.key}.p50_ms`] = round(r.p50, 2);
      figures[`${q.key}.p95_ms`] = round(r.p95, 2);
      figures[`${q.key}.rps`] = round(r.rate, 1);
      figures[`${q.key}.samples`] = r.count;
      figures[`${q.key}.statements_per_request`] = round(r.statementsPerOp, 2);
      ratios[`${q.key}.p95_vs_goal`] = round(r.p95 / q.goalP95Ms, 3);
      ratios[`${q.key}.p95_rollups_vs_history`] = round(r.p95 / figures[`${q.key}.live.p95_ms`]!, 4);
      log(`  ${q.label}: ${described}`);
      log(`    ${r.count} timed requests, ${round(r.rate, 1)} requests/s, p50 ${ms(r.p50)}, p95 ${ms(r.p95)}, ${round(r.statementsPerOp, 2)} SQL statements per request`);
    }

    log('');
    const late = await lateReport(server, log);
    if (late) {
      const t1 = performance.now();
      const again = await rollups.materialize();
      figures['rematerialize_day.ms'] = round(performance.now() - t1, 1);
      log(`  sla.materialize re-wrote ${again.days} daily rows (${again.services} service, ${again.groups} group) in ${ms(figures['rematerialize_day.ms'])}`);
    }
    const rowsOut: (string | number)[][] = [['measurement', 'p50 / p95', 'from history p95', 'goal', '', 'SQL / request']];
    for (const q of list) {
      const p95 = figures[`${q.key}.p95_ms`]!;
      rowsOut.push([q.label, `${ms(figures[`${q.key}.p50_ms`]!)} / ${ms(p95)}`, ms(figures[`${q.key}.live.p95_ms`]!), `p95 < ${q.goalP95Ms} ms`, verdict(p95 < q.goalP95Ms), String(figures[`${q.key}.statements_per_request`]!)]);
    }
    const remat = figures['rematerialize_day.ms'];
    rowsOut.push(['re-materialize one day after a late report', remat === undefined ? 'not measured' : ms(remat), '', '< 1 s', remat === undefined ? 'n/a' : verdict(remat < 1000), '']);
    log('');
    log(`summary (${durationSec} s per query, ${figures['generate.status_changes']!.toLocaleString('en-US')} status changes generated in ${figures['generate.seconds']} s):`);
    for (const line of table(rowsOut)) log(`  ${line}`);
    return { figures, ratios };
  } finally {
    http.close();
    await pool.end();
  }
}

/** A report for svc-0000 half an hour before midnight, through the agents' API: it re-opens yesterday. */
async function lateReport(server: Server, log: (line: string) => void): Promise<boolean> {
  const now = Date.now();
  const observedAt = Math.floor(now / DAY_MS) * DAY_MS - 30 * 60_000;
  if (now - observedAt > 23 * 3_600_000) {
    log('late report: skipped, it is too close to midnight UTC for a report in yesterday to be under 24 h old');
    return false;
  }
  const res = await fetch(`${server.url}/api/v1/operator/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
    body: JSON.stringify({ nodeId: 'bench-node-00', observedAt: new Date(observedAt).toISOString(), services: [{ name: 'svc-0000', status: 'MAJOR_OUTAGE' }] }),
  });
  if (res.status !== 200) throw new Error(`late report: HTTP ${res.status} ${await res.text()}`);
  log(`late report: svc-0000 MAJOR_OUTAGE at ${new Date(observedAt).toISOString()}, ${round((now - observedAt) / 3_600_000, 1)} h late`);
  return true;
}

const bench: Bench = {
  description: 'the SLA read queries (slaGroups, slaTrendData, slaSnapshotTrend, slaDashboardStats) over 30 days of generated history, against Opsgraph with PostgreSQL and Redis',
  budgetSec(d) {
    const durationSec = durationOf({ durationSec: d });
    // Migrations, generation, start-up, the history pass, the first materialization, four checked queries with warm-ups, slack.
    return 60 + START_TIMEOUT_MS / 1000 + 4 * SLOW_QUERY_SEC + 60 + 4 * (durationSec + WARMUP_SEC + 5) + 30;
  },
  run,
};
export default bench;
