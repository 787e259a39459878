import { readFile, statfs } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import type { JobRegistry } from '../../infra/jobs.js';
import { sqlOf } from '../../infra/sql.js';
import {
  cpuPercent,
  dataVerdict,
  dependencyTarget,
  diskPercent,
  diskVerdict,
  formatUptime,
  httpDependencyUp,
  memoryPercent,
  networkVerdict,
  parseMeminfo,
  parseProcStat,
  round1,
  serviceVerdict,
  systemVerdict,
  type CpuTimes,
  type HealthDependency,
  type HealthStatus,
  type HealthThresholds,
} from '../../lib/health.js';

/** What one probe found: its verdict, a line for people, and the readings behind it. */
export interface ProbeResult {
  status: HealthStatus;
  message: string;
  metrics: Record<string, unknown>;
}

/** A probe gets the time it may take and a signal that fires when that time is up. */
export interface ProbeContext {
  timeoutMs: number;
  signal: AbortSignal;
}

const GRAPHQL_WS_PROTOCOL = 'graphql-transport-ws';
const ERROR_LENGTH = 300;

/** An error as an operator reads it: the driver's code first (ECONNREFUSED, 57P03), then its message. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  // fetch wraps the socket's error: its cause says what happened.
  const inner = e?.message === 'fetch failed' && e.cause ? e.cause : e;
  const code = typeof inner?.code === 'string' ? inner.code : undefined;
  const message = typeof inner?.message === 'string' && inner.message ? inner.message : String(err);
  const text = code && !message.includes(code) ? `${code}: ${message}` : message;
  return text.length > ERROR_LENGTH ? `${text.slice(0, ERROR_LENGTH - 1)}…` : text;
}

const elapsed = (since: number) => Math.round(performance.now() - since);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Cumulative CPU times: Linux's /proc/stat (with iowait), elsewhere the per-core times Node reports. */
async function cpuTimes(): Promise<CpuTimes> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => null);
  const parsed = stat ? parseProcStat(stat) : null;
  if (parsed) return parsed;
  let total = 0;
  let idle = 0;
  for (const { times } of os.cpus()) {
    total += times.user + times.nice + times.sys + times.idle + times.irq;
    idle += times.idle;
  }
  return { total, idle, ioWait: null };
}

/** CPU busy and iowait shares over a short sample (a quarter of the time allowed, at most 250 ms). */
async function sampleCpu(ctx: ProbeContext): Promise<{ cpu: number; ioWait: number | null; sampleMs: number }> {
  const sampleMs = Math.max(20, Math.min(250, Math.floor(ctx.timeoutMs / 4)));
  const before = await cpuTimes();
  await sleep(sampleMs, ctx.signal);
  return { ...cpuPercent(before, await cpuTimes()), sampleMs };
}

async function memory(): Promise<{ total: number; available: number }> {
  const info = await readFile('/proc/meminfo', 'utf8').catch(() => null);
  return (info ? parseMeminfo(info) : null) ?? { total: os.totalmem(), available: os.freemem() };
}

/** `system`: CPU over a short sample and memory in use, against their thresholds; the host's uptime. */
export async function probeSystem(ctx: ProbeContext, thresholds: HealthThresholds): Promise<ProbeResult> {
  const [{ cpu, sampleMs }, mem] = await Promise.all([sampleCpu(ctx), memory()]);
  const usage = memoryPercent(mem.total, mem.available);
  const uptime = Math.round(os.uptime());
  const verdict = systemVerdict({ cpu, memory: usage }, thresholds);
  const line = `CPU: ${Math.round(cpu)}%, Memory: ${Math.round(usage)}%, Uptime: ${formatUptime(uptime)}`;
  return {
    status: verdict.status,
    message: verdict.over.length ? `${line}; over threshold: ${verdict.over.join(', ')}` : line,
    metrics: {
      cpu: round1(cpu),
      memory: round1(usage),
      uptime,
      load1m: round1(os.loadavg()[0] ?? 0),
      cores: os.availableParallelism(),
      memoryTotalBytes: mem.total,
      memoryAvailableBytes: mem.available,
      cpuSampleMs: sampleMs,
      thresholds: { cpu: thresholds.cpu, memory: thresholds.memory },
    },
  };
}

/** `disk`: how full the data directory's filesystem is, against its threshold; iowait beside it. */
export async function probeDisk(ctx: ProbeContext, dataDir: string, thresholds: HealthThresholds): Promise<ProbeResult> {
  let fs: Awaited<ReturnType<typeof statfs>>;
  try {
    fs = await statfs(dataDir);
  } catch (err) {
    return { status: 'unhealthy', message: `cannot read the filesystem of DATA_DIR ${dataDir}: ${describeError(err)}`, metrics: { path: dataDir } };
  }
  const usage = diskPercent({ blocks: fs.blocks, bfree: fs.bfree, bavail: fs.bavail });
  const { ioWait } = await sampleCpu(ctx);
  const status = diskVerdict(usage, thresholds);
  const io = ioWait === null ? 'I/O wait: not reported by this OS' : `I/O wait: ${round1(ioWait)}%`;
  return {
    status,
    message: `Usage: ${Math.round(usage)}%, ${io}${status === 'healthy' ? '' : `; over threshold: ${round1(usage)}% > ${thresholds.disk}%`}`,
    metrics: {
      usage: round1(usage),
      ...(ioWait === null ? {} : { ioWait: round1(ioWait) }),
      path: dataDir,
      totalBytes: fs.blocks * fs.bsize,
      availableBytes: fs.bavail * fs.bsize,
      threshold: thresholds.disk,
    },
  };
}

/** `api`: a GET of `/healthz` at the server's base URL, as a load balancer would send it. */
export async function probeApi(ctx: ProbeContext, baseUrl: string): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const res = await fetch(`${baseUrl}/healthz`, { signal: ctx.signal, redirect: 'manual' });
    const body = (await res.json().catch(() => null)) as { status?: unknown } | null;
    const latencyMs = elapsed(started);
    const ok = res.status === 200 && body?.status === 'ok';
    return {
      status: ok ? 'healthy' : 'unhealthy',
      message: ok ? `GET /healthz: 200 in ${latencyMs} ms` : `GET /healthz answered ${res.status}${body ? '' : ' without its JSON body'}`,
      metrics: { statusCode: res.status, latencyMs, url: `${baseUrl}/healthz` },
    };
  } catch (err) {
    return { status: 'unhealthy', message: `GET /healthz failed: ${describeError(err)}`, metrics: { latencyMs: elapsed(started), url: `${baseUrl}/healthz` } };
  }
}

/**
 * `websocket`: the graphql-ws handshake with `/graphql/ws`: the upgrade must select the
 * graphql-transport-ws subprotocol, then a protocol `ping` must come back as `pong` with the same
 * payload, which only the graphql-ws server's message loop answers. The protocol allows a ping
 * before `connection_init`, so the probe needs no credential and leaves nothing in the security
 * log; it closes normally right after.
 */
export function probeWebSocket(ctx: ProbeContext, baseUrl: string): Promise<ProbeResult> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/graphql/ws`;
  const started = performance.now();
  const nonce = randomUUID();
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const ws = new WebSocket(url, GRAPHQL_WS_PROTOCOL, { handshakeTimeout: ctx.timeoutMs, maxPayload: 64 * 1024 });
    const done = (status: HealthStatus, message: string, metrics: Record<string, unknown> = {}) => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'health probe done');
      else ws.terminate();
      resolve({ status, message, metrics: { url, latencyMs: elapsed(started), ...metrics } });
    };
    const onAbort = () => done('unhealthy', `no pong from ${url} within ${ctx.timeoutMs} ms`);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    ws.on('open', () => {
      if (ws.protocol !== GRAPHQL_WS_PROTOCOL) return done('unhealthy', `the server did not select the ${GRAPHQL_WS_PROTOCOL} subprotocol (got "${ws.protocol}")`);
      ws.send(JSON.stringify({ type: 'ping', payload: { probe: nonce } }));
    });
    ws.on('message', (data) => {
      let message: { type?: unknown; payload?: { probe?: unknown } } | null = null;
      try {
        message = JSON.parse(String(data));
      } catch {
        // Anything but the protocol's JSON is a server that does not speak it.
      }
      if (message?.type === 'pong' && message.payload?.probe === nonce) done('healthy', `graphql-ws handshake and ping/pong in ${elapsed(started)} ms`, { protocol: ws.protocol });
      else done('unhealthy', `unexpected graphql-ws message: ${String(data).slice(0, 100)}`);
    });
    ws.on('unexpected-response', (_req, res) => done('unhealthy', `the upgrade was refused with HTTP ${res.statusCode}`, { statusCode: res.statusCode }));
    ws.on('close', (code, reason) => done('unhealthy', `closed before the pong: ${code}${reason.length ? ` ${String(reason)}` : ''}`, { closeCode: code }));
    ws.on('error', (err) => done('unhealthy', `cannot connect to ${url}: ${describeError(err)}`));
  });
}

/** A connection of the probe's own, so that what it measures is a new client's way in, and no request loses a pooled connection to it. */
async function postgresRoundTrip(ctx: ProbeContext, databaseUrl: string): Promise<{ latencyMs: number; sizeBytes: number }> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: ctx.timeoutMs,
    query_timeout: ctx.timeoutMs,
    statement_timeout: ctx.timeoutMs,
    application_name: 'opsgraph-health',
  });
  client.on('error', () => undefined);
  const abort = () => void client.end().catch(() => undefined);
  ctx.signal.addEventListener('abort', abort, { once: true });
  const started = performance.now();
  try {
    await client.connect();
    const [row] = await sqlOf(client).query<{ size: string }>({ name: 'opsgraph.health.data', text: 'SELECT 1 AS ok, pg_database_size(current_database())::text AS size' });
    return { latencyMs: elapsed(started), sizeBytes: Number(row?.size ?? 0) };
  } finally {
    ctx.signal.removeEventListener('abort', abort);
    await client.end().catch(() => undefined);
  }
}

/** PostgreSQL connectivity for GET /api/v1/monitoring/health. */
export async function probePostgres(ctx: ProbeContext, databaseUrl: string): Promise<{ latencyMs: number }> {
  return { latencyMs: (await postgresRoundTrip(ctx, databaseUrl)).latencyMs };
}

/** `data`: PostgreSQL answers `SELECT 1` on a new connection; the database's size; the app's pool. */
export async function probeData(ctx: ProbeContext, databaseUrl: string, pool: pg.Pool, poolMax: number): Promise<ProbeResult> {
  const poolStats = { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: poolMax };
  const inUse = poolStats.total - poolStats.idle;
  const started = performance.now();
  try {
    const { latencyMs, sizeBytes } = await postgresRoundTrip(ctx, databaseUrl);
    const status = dataVerdict({ reachable: true, poolWaiting: poolStats.waiting });
    return {
      status,
      message: `SELECT 1 in ${latencyMs} ms, database ${formatBytes(sizeBytes)}, pool ${inUse}/${poolMax} in use, ${poolStats.waiting} waiting`,
      metrics: { latencyMs, databaseSizeBytes: sizeBytes, pool: poolStats },
    };
  } catch (err) {
    return { status: 'unhealthy', message: `PostgreSQL unreachable: ${describeError(err)}`, metrics: { latencyMs: elapsed(started), pool: poolStats } };
  }
}

/** Redis connectivity for GET /api/v1/monitoring/health and the `service` check: PING on the command connection requests use. */
export async function probeRedis(redis: Redis): Promise<{ latencyMs: number }> {
  const started = performance.now();
  const pong = await redis.ping();
  if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
  return { latencyMs: elapsed(started) };
}

/**
 * `service`: Redis answers PING; every queue has a worker connected (from any process); no job
 * failed for good in the last hour. BullMQ stamps a failure with the wall clock of the process that
 * ran the job, so the hour is measured on that clock too.
 */
export async function probeService(_ctx: ProbeContext, redis: Redis, jobs: Pick<JobRegistry, 'queueHealth'>): Promise<ProbeResult> {
  let redisLatencyMs: number;
  try {
    ({ latencyMs: redisLatencyMs } = await probeRedis(redis));
  } catch (err) {
    return { status: 'unhealthy', message: `Redis unreachable: ${describeError(err)}`, metrics: {} };
  }
  const queues = await jobs.queueHealth(new Date(Date.now() - 3_600_000));
  const status = serviceVerdict({ redis: true, queues: queues.map((q) => ({ workers: q.workers, failedLastHour: q.failedSince })) });
  const idle = queues.filter((q) => q.workers === 0).map((q) => q.queue);
  const failed = queues.reduce((n, q) => n + q.failedSince, 0);
  const parts = [`Redis PING in ${redisLatencyMs} ms`, idle.length ? `no worker on ${idle.join(', ')}` : `${queues.length} queues, each with a worker`, `${failed} jobs failed in the last hour`];
  return {
    status,
    message: parts.join('; '),
    metrics: {
      redisLatencyMs,
      failedLastHour: failed,
      queuesWithoutWorkers: idle,
      queues: Object.fromEntries(queues.map((q) => [q.queue, { workers: q.workers, failedLastHour: q.failedSince }])),
    },
  };
}

interface DependencyResult {
  name: string;
  target: string;
  up: boolean;
  latencyMs: number;
  statusCode?: number;
  error?: string;
}

async function checkDependency(ctx: ProbeContext, d: HealthDependency): Promise<DependencyResult> {
  const started = performance.now();
  const target = dependencyTarget(d);
  if (d.kind === 'http') {
    try {
      // A redirect is an answer: the dependency runs.
      const res = await fetch(d.url, { signal: ctx.signal, redirect: 'manual' });
      await res.body?.cancel();
      const up = httpDependencyUp(res.status);
      return { name: d.name, target, up, latencyMs: elapsed(started), statusCode: res.status, ...(up ? {} : { error: `HTTP ${res.status}` }) };
    } catch (err) {
      const error = ctx.signal.aborted ? `no answer within ${ctx.timeoutMs} ms` : describeError(err);
      return { name: d.name, target, up: false, latencyMs: elapsed(started), error };
    }
  }
  return new Promise<DependencyResult>((resolve) => {
    const socket = net.connect({ host: d.host, port: d.port });
    const finish = (error?: string) => {
      ctx.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ name: d.name, target, up: !error, latencyMs: elapsed(started), ...(error ? { error } : {}) });
    };
    const onAbort = () => finish(`no connection within ${ctx.timeoutMs} ms`);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish());
    socket.once('error', (err) => finish(describeError(err)));
  });
}

/** `network`: every HEALTH_DEPENDENCIES entry, in parallel: an HTTP GET, or a TCP connection. */
export async function probeNetwork(ctx: ProbeContext, dependencies: readonly HealthDependency[]): Promise<ProbeResult> {
  if (!dependencies.length) return { status: 'healthy', message: 'no dependencies configured (HEALTH_DEPENDENCIES)', metrics: { dependencies: [] } };
  const results = await Promise.all(dependencies.map((d) => checkDependency(ctx, d)));
  const down = results.filter((r) => !r.up);
  return {
    status: networkVerdict(results),
    message: down.length
      ? `${down.length} of ${results.length} dependencies down: ${down.map((d) => `${d.name} (${d.error})`).join(', ')}`
      : `${results.length} of ${results.length} dependencies up`,
    metrics: { dependencies: results },
  };
}

function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}
