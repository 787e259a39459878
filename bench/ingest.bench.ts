/**
 * Ingestion and the console's main read, against a real Opsgraph (all modules, role 'api') in
 * its own process, with its own freshly migrated PostgreSQL database and Redis prefix, both
 * removed at the end:
 *   1. status sync: agents posting 50-service reports, against a raw `pg` baseline that does
 *      only the one upsert statement a report needs, same concurrency and pool size;
 *   2. the backup webhook, one service per report;
 *   3. the `slaGroups` query with 10 and with 100 groups of 20 services: latency, and SQL
 *      statements per request (which must not grow with the number of groups).
 *
 * Unlike the http bench this one defaults to one round of 10 s per measurement (about 90 s in
 * all); BENCH_DURATION and BENCH_ROUNDS, when set, are honoured. Rounds repeat the status-sync
 * pair in alternating order; the other measurements run once. BENCH_SERVER_CPU_PROF=<dir> writes a
 * V8 CPU profile of the server there.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loginAsBenchAdmin, START_TIMEOUT_MS, startServer, timedLoad, withBenchDatabase, type Server } from './db.js';
import { median, round, table, type Bench, type BenchContext, type BenchResult } from './harness.js';
import { Fleet, seedReport, serviceName, type StatusReport } from './ingest.fleet.js';
import { closedLoop, httpClient, type Answer, type LoadResult } from './ingest.load.js';

const NODES = 40;
const SERVICES_PER_REPORT = 50;
/** An SLA group usually spans clusters, so every node's report names the same few groups. */
const AGENT_GROUPS = 5;
const CONCURRENCY = 16;
/** Same as the server's DATABASE_POOL_MAX (bench/ingest.server.ts). */
const POOL_SIZE = 10;
const WARMUP_SEC = 2;
const SERVICES_PER_GROUP = 20;
const GROUPS_PER_SEED_NODE = 10;
const DEFAULT_DURATION_SEC = 10;
const DEFAULT_ROUNDS = 1;

const GOALS = {
  statusReportsPerSec: 300,
  statusRatio: 0.25,
  backupPerSec: 1_000,
  backupP99Ms: 50,
  slaGroupsP95Ms: 30,
};

const SLA_GROUPS_QUERY =
  '{ slaGroups { id name displayName tier status currentUptime services { serviceName status replicas readyReplicas backupStatus { backupExpected lastBackupAt lastBackupStatus backupMaxAgeDays backupOverdue } } } }';

/** Same columns as Opsgraph's upsert minus its bookkeeping, one statement, one commit. */
const RAW_UPSERT = `
  INSERT INTO "Service" AS s (id, "nodeId", name, status, "reportedStatus", "lastSeenAt", replicas, "readyReplicas", "workloadType", namespace, "updatedAt")
  SELECT gen_random_uuid(), $1, i.name, i.status, i.status, $2, i.replicas, i.ready, i.workload, i.namespace, now()
  FROM unnest($3::text[], $4::"ServiceStatus"[], $5::int[], $6::int[], $7::text[], $8::text[]) AS i(name, status, replicas, ready, workload, namespace)
  ON CONFLICT ("nodeId", name) DO UPDATE SET
    status = EXCLUDED.status, "reportedStatus" = EXCLUDED."reportedStatus", "lastSeenAt" = EXCLUDED."lastSeenAt",
    replicas = EXCLUDED.replicas, "readyReplicas" = EXCLUDED."readyReplicas", "workloadType" = EXCLUDED."workloadType",
    namespace = EXCLUDED.namespace, "updatedAt" = EXCLUDED."updatedAt"`;

/** BENCH_DURATION / BENCH_ROUNDS when set, else this bench's own defaults (the runner's are for the http bench). */
function settings(ctx: { durationSec: number; rounds: number }): { durationSec: number; rounds: number } {
  return {
    durationSec: process.env.BENCH_DURATION ? ctx.durationSec : DEFAULT_DURATION_SEC,
    rounds: process.env.BENCH_ROUNDS ? ctx.rounds : DEFAULT_ROUNDS,
  };
}

/** A 2xx answer whose JSON body says `success: true`; anything else fails the bench. */
function expectSuccess(what: string, answer: Answer): Record<string, unknown> {
  const ok = answer.status >= 200 && answer.status < 300;
  const body = ok ? (JSON.parse(answer.body) as Record<string, unknown>) : undefined;
  if (!body || body.success !== true) throw new Error(`${what}: HTTP ${answer.status} ${answer.body.slice(0, 500)}`);
  return body;
}

const ms = (n: number) => `${round(n, 1)} ms`;
const perSec = (n: number, unit = '') => `${round(n, 0).toLocaleString('en-US')}${unit ? ` ${unit}` : ''}/s`;
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

async function run(ctx: BenchContext): Promise<BenchResult> {
  const { durationSec, rounds } = settings(ctx);
  const { log } = ctx;
  log(`ingest: ${rounds} round(s) of the status-sync pair, ${durationSec} s per measurement, ${WARMUP_SEC} s warm-up before each`);
  return withBenchDatabase(log, async ({ name, url: dbUrl }) => {
    const server = await startServer(dbUrl, name);
    log(`Opsgraph (all modules, role api) listening at ${server.url}`);
    try {
      return await measure({ log, durationSec, rounds, server, dbUrl, prefix: name });
    } finally {
      await server.stop();
    }
  });
}

interface Phase {
  log(line: string): void;
  durationSec: number;
  rounds: number;
  server: Server;
  http: ReturnType<typeof httpClient>;
  agentAuth: Record<string, string>;
  prefix: string;
  figures: Record<string, number>;
}

async function measure(p: Omit<Phase, 'http' | 'agentAuth' | 'figures'> & { dbUrl: string }): Promise<BenchResult> {
  const phase: Phase = { ...p, http: httpClient(p.server.url, CONCURRENCY), agentAuth: { authorization: `Bearer ${p.server.apiKey}` }, figures: {} };
  const pool = new pg.Pool({ connectionString: p.dbUrl, max: POOL_SIZE });
  pool.on('error', () => undefined);
  try {
    // First, while the only groups are the seeded ones: the status-sync agents add more.
    await slaGroupsPhase(phase);
    const { ratio, agents } = await statusPhase(phase, pool);
    await backupPhase(phase, agents);
    summary(phase, ratio);
    return { figures: phase.figures, ratios: { 'opsgraph_vs_raw.status_reports': round(ratio, 3) } };
  } finally {
    phase.http.close();
    await pool.end();
  }
}

async function slaGroupsPhase({ log, durationSec, server, http, agentAuth, prefix, figures }: Phase): Promise<void> {
  const auth = await loginAsBenchAdmin(http);

  const seedNodes = async (from: number, to: number) => {
    for (let k = from; k < to; k++) {
      const report = seedReport(`${prefix}-seed-${k}`, k * GROUPS_PER_SEED_NODE, GROUPS_PER_SEED_NODE, SERVICES_PER_GROUP);
      expectSuccess('seed status report', await http.post('/api/v1/operator/status', JSON.stringify(report), agentAuth));
    }
  };
  const query = async (): Promise<string> => {
    const answer = await http.post('/graphql', JSON.stringify({ query: SLA_GROUPS_QUERY }), auth);
    // Cheaper than parsing half a megabyte on every request; the first answer is checked in full.
    if (answer.status !== 200 || answer.body.includes('"errors"')) throw new Error(`slaGroups: HTTP ${answer.status} ${answer.body.slice(0, 500)}`);
    return answer.body;
  };
  const measureWith = async (groups: number) => {
    const { data } = JSON.parse(await query()) as { data: { slaGroups: { services: unknown[] }[] } };
    const services = data.slaGroups.reduce((n, g) => n + g.services.length, 0);
    if (data.slaGroups.length !== groups || services !== groups * SERVICES_PER_GROUP) {
      throw new Error(`slaGroups answered ${data.slaGroups.length} groups and ${services} services; expected ${groups} and ${groups * SERVICES_PER_GROUP}`);
    }
    const op = async () => void (await query());
    await closedLoop(1, WARMUP_SEC, op);
    const result = await timedLoad(server, 1, durationSec, op);
    const key = `sla_groups.g${groups}`;
    figures[`${key}.p50_ms`] = round(result.p50, 2);
    figures[`${key}.p95_ms`] = round(result.p95, 2);
    figures[`${key}.rps`] = round(result.rate, 0);
    figures[`${key}.statements_per_request`] = round(result.statementsPerOp, 2);
    log(
      `  ${groups} groups × ${SERVICES_PER_GROUP} services: ${perSec(result.rate, 'requests')}, p50 ${ms(result.p50)}, p95 ${ms(result.p95)}, ` +
        `${round(result.statementsPerOp, 2)} SQL statements per request`,
    );
  };

  log('');
  log('slaGroups query, one request at a time, as the first admin:');
  await seedNodes(0, 1);
  await measureWith(GROUPS_PER_SEED_NODE);
  await seedNodes(1, 10);
  await measureWith(10 * GROUPS_PER_SEED_NODE);
}

async function statusPhase({ log, durationSec, rounds, server, http, agentAuth, prefix, figures }: Phase, pool: pg.Pool): Promise<{ ratio: number; agents: Fleet }> {
  const agents = new Fleet(`${prefix}-agent`, NODES, SERVICES_PER_REPORT, { groups: AGENT_GROUPS });
  const rawAgents = new Fleet(`${prefix}-raw`, NODES, SERVICES_PER_REPORT);
  const knownRawNodes = new Set<string>();
  const opsgraph = () =>
    agents.send(async (report) => {
      const body = expectSuccess('status report', await http.post('/api/v1/operator/status', JSON.stringify(report), agentAuth));
      if (body.processed !== SERVICES_PER_REPORT) throw new Error(`status report: processed ${String(body.processed)} services, expected ${SERVICES_PER_REPORT}`);
    });
  const raw = () =>
    rawAgents.send(async (report: StatusReport) => {
      // The foreign key needs the node; created once per node, outside the statement per report.
      if (!knownRawNodes.has(report.nodeId)) {
        await pool.query(`INSERT INTO "Node" (id) VALUES ($1) ON CONFLICT DO NOTHING`, [report.nodeId]);
        knownRawNodes.add(report.nodeId);
      }
      const s = report.services;
      const res = await pool.query(RAW_UPSERT, [
        report.nodeId,
        report.observedAt,
        s.map((x) => x.name),
        s.map((x) => x.status),
        s.map((x) => x.replicas),
        s.map((x) => x.readyReplicas),
        s.map((x) => x.workloadType),
        s.map((x) => x.namespace),
      ]);
      if (res.rowCount !== SERVICES_PER_REPORT) throw new Error(`raw upsert wrote ${res.rowCount} rows, expected ${SERVICES_PER_REPORT}`);
    });

  log('');
  log(
    `status sync: ${NODES} nodes × ${SERVICES_PER_REPORT} services in ${AGENT_GROUPS} SLA groups shared by all nodes, ` +
      `~5 % changing per report, ${CONCURRENCY} reports in flight; raw pg: one upsert statement per report, pool of ${POOL_SIZE} like the server's:`,
  );
  // The first report of each node creates its services; the warm-up takes that, not the measurement.
  await closedLoop(CONCURRENCY, WARMUP_SEC, opsgraph);
  await closedLoop(CONCURRENCY, WARMUP_SEC, raw);
  const samples: { opsgraph: LoadResult & { statementsPerOp: number }; raw: LoadResult }[] = [];
  for (let r = 0; r < rounds; r++) {
    let o: (LoadResult & { statementsPerOp: number }) | undefined;
    let w: LoadResult | undefined;
    const runOpsgraph = async () => void (o = await timedLoad(server, CONCURRENCY, durationSec, opsgraph));
    const runRaw = async () => void (w = await closedLoop(CONCURRENCY, durationSec, raw));
    // Alternating order, so neither side always runs on tables the other has just churned.
    for (const step of r % 2 === 0 ? [runOpsgraph, runRaw] : [runRaw, runOpsgraph]) await step();
    samples.push({ opsgraph: o!, raw: w! });
    log(
      `  round ${r + 1}/${rounds}: Opsgraph ${perSec(o!.rate, 'reports')} (p50 ${ms(o!.p50)}, p99 ${ms(o!.p99)}, ${round(o!.statementsPerOp, 2)} SQL statements each), ` +
        `raw pg ${perSec(w!.rate, 'reports')} (p50 ${ms(w!.p50)}, p99 ${ms(w!.p99)}), ratio ${(o!.rate / w!.rate).toFixed(3)}`,
    );
  }
  for (const side of ['opsgraph', 'raw'] as const) {
    const reports = median(samples.map((s) => s[side].rate));
    figures[`status.${side}.reports_per_s`] = round(reports, 0);
    figures[`status.${side}.rows_per_s`] = round(reports * SERVICES_PER_REPORT, 0);
    figures[`status.${side}.p50_ms`] = round(median(samples.map((s) => s[side].p50)), 2);
    figures[`status.${side}.p99_ms`] = round(median(samples.map((s) => s[side].p99)), 2);
  }
  figures['status.opsgraph.statements_per_report'] = round(median(samples.map((s) => s.opsgraph.statementsPerOp)), 2);
  // Both sides of a round share its background load, so their ratio cancels most of it.
  return { ratio: median(samples.map((s) => s.opsgraph.rate / s.raw.rate)), agents };
}

async function backupPhase({ log, durationSec, server, http, agentAuth, figures }: Phase, agents: Fleet): Promise<void> {
  let seq = 0;
  const runId = randomBytes(4).toString('hex');
  const backup = async () => {
    const n = seq++;
    const body = {
      service: serviceName(n % SERVICES_PER_REPORT),
      nodeId: agents.nodeId(Math.floor(n / SERVICES_PER_REPORT) % NODES),
      status: n % 20 === 0 ? 'failed' : 'success',
      sizeBytes: 1_000_000 + n,
      completedAt: new Date(Date.now() - 60_000).toISOString(),
      // Distinct ids: the server answers a repeated report (or body, within 60 s) from its dedupe cache.
      reportId: `bench-${runId}-${n}`,
    };
    const answer = expectSuccess('backup report', await http.post('/api/v1/backup/report', JSON.stringify(body), agentAuth));
    if (answer.affected !== 1) throw new Error(`backup report affected ${String(answer.affected)} services, expected 1`);
  };
  log('');
  log(`backup webhook: one service per report, distinct reportIds, ${CONCURRENCY} in flight:`);
  await closedLoop(CONCURRENCY, WARMUP_SEC, backup);
  const result = await timedLoad(server, CONCURRENCY, durationSec, backup);
  figures['backup.reports_per_s'] = round(result.rate, 0);
  figures['backup.p50_ms'] = round(result.p50, 2);
  figures['backup.p99_ms'] = round(result.p99, 2);
  figures['backup.statements_per_report'] = round(result.statementsPerOp, 2);
  log(`  ${perSec(result.rate, 'reports')}, p50 ${ms(result.p50)}, p99 ${ms(result.p99)}, ${round(result.statementsPerOp, 2)} SQL statements each`);
}

function summary({ log, durationSec, rounds, figures: f }: Phase, ratio: number): void {
  const g10 = f['sla_groups.g10.statements_per_request']!;
  const g100 = f['sla_groups.g100.statements_per_request']!;
  const latencies = (key: string, a: string, b: string) => `${ms(f[`${key}.${a}_ms`]!)} / ${ms(f[`${key}.${b}_ms`]!)}`;
  const rows: (string | number)[][] = [
    ['measurement', 'figure', 'goal', ''],
    ['status sync, Opsgraph', perSec(f['status.opsgraph.reports_per_s']!, 'reports'), `≥ ${GOALS.statusReportsPerSec}/s`, verdict(f['status.opsgraph.reports_per_s']! >= GOALS.statusReportsPerSec)],
    ['  service rows', perSec(f['status.opsgraph.rows_per_s']!, 'rows'), '', ''],
    ['  latency p50 / p99', latencies('status.opsgraph', 'p50', 'p99'), '', ''],
    ['  SQL statements per report', String(f['status.opsgraph.statements_per_report']!), '', ''],
    ['status sync, raw pg upsert', perSec(f['status.raw.reports_per_s']!, 'reports'), '', ''],
    ['  service rows', perSec(f['status.raw.rows_per_s']!, 'rows'), '', ''],
    ['  latency p50 / p99', latencies('status.raw', 'p50', 'p99'), '', ''],
    ['Opsgraph / raw, reports/s', ratio.toFixed(3), `≥ ${GOALS.statusRatio}`, verdict(ratio >= GOALS.statusRatio)],
    ['backup webhook', perSec(f['backup.reports_per_s']!, 'reports'), `≥ ${GOALS.backupPerSec.toLocaleString('en-US')}/s`, verdict(f['backup.reports_per_s']! >= GOALS.backupPerSec)],
    ['  latency p50 / p99', latencies('backup', 'p50', 'p99'), `p99 < ${GOALS.backupP99Ms} ms`, verdict(f['backup.p99_ms']! < GOALS.backupP99Ms)],
    ['  SQL statements per report', String(f['backup.statements_per_report']!), '', ''],
    ['slaGroups, 10 groups, p50 / p95', latencies('sla_groups.g10', 'p50', 'p95'), `p95 < ${GOALS.slaGroupsP95Ms} ms`, verdict(f['sla_groups.g10.p95_ms']! < GOALS.slaGroupsP95Ms)],
    ['slaGroups, 100 groups, p50 / p95', latencies('sla_groups.g100', 'p50', 'p95'), `p95 < ${GOALS.slaGroupsP95Ms} ms`, verdict(f['sla_groups.g100.p95_ms']! < GOALS.slaGroupsP95Ms)],
    ['  SQL statements per request, 10 / 100 groups', `${g10} / ${g100}`, 'constant', verdict(g10 === g100)],
  ];
  log('');
  log(`summary (${durationSec} s per measurement${rounds > 1 ? `; status sync: medians of ${rounds} rounds` : ''}):`);
  for (const line of table(rows)) log(`  ${line}`);
}

const bench: Bench = {
  description: 'status sync vs a raw pg upsert, the backup webhook, and the slaGroups query, against Opsgraph with PostgreSQL and Redis',
  budgetSec(d, r) {
    const { durationSec, rounds } = settings({ durationSec: d, rounds: r });
    // Migrations and start-up, seeding, five warm-ups, the measurements, slack for a slow machine.
    return START_TIMEOUT_MS / 1000 + 20 + 5 * WARMUP_SEC + (3 + 2 * rounds) * (durationSec + 1) + 30;
  },
  run,
};
export default bench;
