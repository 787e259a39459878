import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem, uptime } from 'node:os';
import { dirname, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { sqlOf } from '../../infra/sql.js';
import type { RequestStats } from '../../infra/runtime.js';
import type { Labels } from '../../lib/metric-labels.js';

/** One reading of a collector: name, value and labels (the collector stamps the time). */
export interface Reading {
  name: string;
  value: number;
  labels?: Labels;
}

export type Reader = () => Promise<Reading[]>;

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

function cpuTimes() {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** The filesystem holding `dir` (its nearest existing ancestor when it does not exist yet). */
async function statfsOf(dir: string) {
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      return await statfs(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw err;
    }
  }
}

/** Host CPU (busy share of all cores since the previous reading), memory, load, uptime, data-directory disk usage. */
export function systemReader(dataDir: string): Reader {
  let previous = cpuTimes();
  return async () => {
    let now = cpuTimes();
    if (now.total - previous.total <= 0) {
      // The first reading, or one within the kernel's tick: wait for a span to measure.
      await new Promise((r) => setTimeout(r, 100));
      now = cpuTimes();
    }
    const busy = 1 - (now.idle - previous.idle) / Math.max(1, now.total - previous.total);
    previous = now;
    const total = totalmem();
    const used = total - freemem();
    const fs = await statfsOf(dataDir);
    // As df counts it: used over what an unprivileged user could have (used + available).
    const fsUsed = (fs.blocks - fs.bfree) * fs.bsize;
    const fsAvail = fs.bavail * fs.bsize;
    return [
      { name: 'system.cpu.usage', value: round(Math.max(0, Math.min(100, busy * 100))) },
      { name: 'system.memory.used', value: used },
      { name: 'system.memory.usage', value: round((used / total) * 100) },
      { name: 'system.load.1m', value: round(loadavg()[0]!) },
      { name: 'system.uptime', value: Math.round(uptime()) },
      { name: 'system.disk.usage', value: round(fsUsed + fsAvail > 0 ? (fsUsed / (fsUsed + fsAvail)) * 100 : 0) },
    ];
  };
}

/** This process: memory, event-loop delay (mean since the previous reading), CPU share of one core since the previous reading. */
export function processReader(labels: () => Labels): Reader & { stop(): void } {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let cpu = process.cpuUsage();
  let at = process.hrtime.bigint();
  const read = async () => {
    const nowAt = process.hrtime.bigint();
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const wallUs = Number(nowAt - at) / 1_000;
    at = nowAt;
    const mem = process.memoryUsage();
    const lagMs = Number.isFinite(loop.mean) ? loop.mean / 1e6 : 0;
    loop.reset();
    const l = labels();
    return [
      { name: 'process.memory.rss', value: mem.rss, labels: l },
      { name: 'process.heap.used', value: mem.heapUsed, labels: l },
      { name: 'process.eventloop.lag', value: round(lagMs), labels: l },
      { name: 'process.cpu.usage', value: round(wallUs > 0 ? ((used.user + used.system) / wallUs) * 100 : 0), labels: l },
    ];
  };
  return Object.assign(read, { stop: () => loop.disable() });
}

/** This database: connections, size, cache hit ratio, transactions per second since the previous reading, deadlocks. */
export function postgresReader(pool: pg.Pool): Reader {
  let previous: { xacts: number; at: number } | undefined;
  return async () => {
    const [row] = await sqlOf(pool).query<{ connections: string; size: string; hit: string; read: string; xacts: string; deadlocks: string }>(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections,
              pg_database_size(current_database()) AS size,
              blks_hit AS hit, blks_read AS read, xact_commit + xact_rollback AS xacts, deadlocks
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    if (!row) return [];
    const hit = Number(row.hit);
    const read = Number(row.read);
    const xacts = Number(row.xacts);
    const at = Date.now();
    const out: Reading[] = [
      { name: 'postgres.connections', value: Number(row.connections) },
      { name: 'postgres.database.size', value: Number(row.size) },
      { name: 'postgres.cache.hit_ratio', value: round(hit + read > 0 ? (hit / (hit + read)) * 100 : 100) },
      { name: 'postgres.deadlocks', value: Number(row.deadlocks) },
    ];
    // A rate needs two readings: the first one only sets the baseline.
    if (previous && at > previous.at) out.push({ name: 'postgres.transactions.rate', value: round(((xacts - previous.xacts) / (at - previous.at)) * 1_000) });
    previous = { xacts, at };
    return out;
  };
}

/** Redis: memory, commands per second (Redis's own instantaneous figure), connected clients. */
export function redisReader(redis: Redis): Reader {
  return async () => {
    const info = await redis.info();
    const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1]);
    return [
      { name: 'redis.memory.used', value: field('used_memory') },
      { name: 'redis.ops.rate', value: field('instantaneous_ops_per_sec') },
      { name: 'redis.clients', value: field('connected_clients') },
    ].filter((r) => Number.isFinite(r.value));
  };
}

/** Jobs per state in every queue of the job registry. */
export function queuesReader(queues: ReadonlyMap<string, Queue>): Reader {
  return async () => {
    const out: Reading[] = [];
    for (const [name, queue] of [...queues].sort((a, b) => a[0].localeCompare(b[0]))) {
      const c = await queue.getJobCounts('waiting', 'active', 'failed', 'delayed');
      for (const state of ['waiting', 'active', 'failed', 'delayed'] as const) out.push({ name: `queue.jobs.${state}`, value: c[state] ?? 0, labels: { queue: name } });
    }
    return out;
  };
}

/**
 * The requests this process answered since the previous reading, per route template, method and
 * status: how many (`api.requests.total`) and their mean duration (`api.request.duration`).
 */
export function apiReader(requests: RequestStats): Reader {
  const tallies = requests.consumer('api-collector');
  return async () =>
    tallies.take().flatMap((t) => {
      const labels = { route: t.route, method: t.method, status: String(t.status) };
      return [
        { name: 'api.requests.total', value: t.count, labels },
        { name: 'api.request.duration', value: round(t.sumMs / t.count), labels },
      ];
    });
}
