import type { Redis } from 'ioredis';
import WebSocket from 'ws';
import { CHANNELS_PATH } from '../../http/channels.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { ProcessRuntime } from '../../infra/runtime.js';
import { SERVER_VERSION } from '../../infra/version.js';
import { apiState, overallStatus, parseInstanceHash, SecondRing, statusFigures, sumWindow, type ServiceState, type StatusFigures, type WindowTotals } from '../../lib/status-figures.js';
import type { Readiness } from './health.service.js';

/** Seed 004's figures cover the last minute. */
export const STATUS_WINDOW_SECONDS = 60;
/** How long one check of PostgreSQL and Redis (and of the WebSocket endpoint) answers every caller. */
const VERDICT_MS = 1_000;
/** How often each API instance publishes its figures. */
const PUBLISH_MS = 1_000;
/** An instance's figures outlive its last publish by the window, so its requests of the last minute still count. */
const INSTANCE_TTL_MS = (STATUS_WINDOW_SECONDS + 5) * 1_000;
/** Open connections are a reading of now: older than this, an instance's count is left out (it stopped). */
const CONNECTIONS_FRESH_MS = 3 * PUBLISH_MS;

export interface PublicHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  timestamp: string;
  version: string;
  /** The server process's uptime, in seconds. */
  uptime: number;
}

export interface SystemStatus {
  status: ServiceState;
  services: { api: ServiceState; websocket: ServiceState; database: ServiceState; cache: ServiceState };
  metrics: StatusFigures;
}

/** Holds `compute`'s answer for VERDICT_MS of the clock: one dependency touch per second per instance, whatever the request rate. */
function everySecond<T>(clock: Clock, compute: () => Promise<T>): () => Promise<T> {
  let held: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = clock.now().getTime();
    if (!held || now - held.at >= VERDICT_MS || now < held.at) held = { at: now, value: compute() };
    return held.value;
  };
}

/** Whether this instance's own `/ws` accepts a WebSocket handshake, within `timeoutMs`. */
function handshake(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${CHANNELS_PATH}`);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    ws.once('open', () => done(true));
    ws.once('error', () => done(false));
    ws.once('unexpected-response', () => done(false));
  });
}

/**
 * Seed 004's `/health` and `/status`. Each API instance publishes its own request figures (per
 * second, taken from the in-memory tallies) and its open connections to a Redis hash of its own
 * every second; `/status` adds up the hashes of every instance that published within the last
 * minute, so any instance answers for the whole deployment and none keeps another's state. While
 * Redis cannot be read, an instance answers its own figures and says the cache is out.
 */
export function createStatusBoard(deps: {
  redis: Redis;
  prefix: string;
  runtime: ProcessRuntime;
  clock: Clock;
  logger: Logger;
  readiness: () => Promise<Readiness>;
  timeoutMs: number;
}) {
  const { redis, runtime, clock } = deps;
  const requests = runtime.requests.consumer('status');
  const own = new SecondRing(STATUS_WINDOW_SECONDS);
  /** Seconds taken but not yet written to Redis (a write failed): written with the next publish. */
  const unsent = new SecondRing(STATUS_WINDOW_SECONDS);
  const instancesKey = `${deps.prefix}:status:instances`;
  const instanceKey = (id: string) => `${deps.prefix}:status:instance:${id}`;
  let timer: NodeJS.Timeout | undefined;
  let publishing: Promise<void> | undefined;

  const connections = () => {
    const c = runtime.connections();
    return c.http + c.ws;
  };

  async function publish(): Promise<void> {
    const nowMs = clock.now().getTime();
    const second = Math.floor(nowMs / 1_000);
    let count = 0;
    let sumMs = 0;
    let errors = 0;
    for (const t of requests.take()) {
      count += t.count;
      sumMs += t.sumMs;
      if (t.status >= 500) errors += t.count;
    }
    if (count) {
      own.add(second, count, sumMs, errors);
      unsent.add(second, count, sumMs, errors);
    }
    const gone = own.prune(second);
    unsent.prune(second);
    const key = instanceKey(runtime.instanceId);
    const tx = redis.multi();
    for (const b of unsent.entries()) {
      tx.hincrby(key, `c:${b.second}`, b.count).hincrbyfloat(key, `t:${b.second}`, b.sumMs);
      if (b.errors) tx.hincrby(key, `e:${b.second}`, b.errors);
    }
    if (gone.length) tx.hdel(key, ...gone.flatMap((s) => [`c:${s}`, `t:${s}`, `e:${s}`]));
    tx.hset(key, { conn: connections(), at: nowMs })
      .pexpire(key, INSTANCE_TTL_MS)
      .zadd(instancesKey, nowMs, runtime.instanceId)
      .zremrangebyscore(instancesKey, '-inf', nowMs - INSTANCE_TTL_MS)
      .pexpire(instancesKey, INSTANCE_TTL_MS);
    const results = await tx.exec();
    if (results?.some(([err]) => err)) throw results.find(([err]) => err)![0]!;
    unsent.prune(Number.MAX_SAFE_INTEGER);
  }

  const tick = () => {
    publishing ??= publish()
      .catch((err: unknown) => deps.logger.debug({ err: (err as Error).message }, 'could not publish the status figures; kept for the next second'))
      .finally(() => (publishing = undefined));
    return publishing;
  };

  async function totals(): Promise<{ totals: WindowTotals; shared: boolean }> {
    const nowMs = clock.now().getTime();
    const second = Math.floor(nowMs / 1_000);
    try {
      const ids = await redis.zrangebyscore(instancesKey, nowMs - INSTANCE_TTL_MS, '+inf');
      const read = redis.pipeline();
      for (const id of ids) read.hgetall(instanceKey(id));
      const hashes = ids.length ? ((await read.exec()) ?? []) : [];
      const instances = hashes.flatMap(([err, hash], i) => {
        if (err) return [];
        const figures = parseInstanceHash(hash as Record<string, string>, nowMs, CONNECTIONS_FRESH_MS);
        // This instance's own connections are read now, not as published up to a second ago: the asking request is one.
        return [ids[i] === runtime.instanceId ? { ...figures, connections: connections() } : figures];
      });
      return { totals: sumWindow(instances, second, STATUS_WINDOW_SECONDS), shared: true };
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'could not read the deployment status figures; answering this instance only');
      return { totals: sumWindow([{ buckets: own.entries(), connections: connections() }], second, STATUS_WINDOW_SECONDS), shared: false };
    }
  }

  const readiness = everySecond(clock, deps.readiness);
  const webSocket = everySecond(clock, () => (runtime.url ? handshake(runtime.url, deps.timeoutMs) : Promise.resolve(false)));
  const state = (ok: boolean): ServiceState => (ok ? 'operational' : 'outage');
  const ok = (r: Readiness, name: 'postgres' | 'redis') => r.checks.some((c) => c.name === name && c.ok);

  return {
    /** On API instances: publishes now, then every second. */
    async start(): Promise<void> {
      if (runtime.role !== 'api' && runtime.role !== 'all') return;
      await tick();
      timer = setInterval(() => void tick(), PUBLISH_MS);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await publishing;
    },
    /** Publishes this instance's figures now (the timer does it every second). */
    publish: tick,

    async health(): Promise<PublicHealth> {
      const r = await readiness();
      // Without PostgreSQL nothing can be served; without Redis the API still answers, with less.
      const status = !ok(r, 'postgres') ? 'unhealthy' : !ok(r, 'redis') ? 'degraded' : 'healthy';
      return { status, timestamp: clock.now().toISOString(), version: SERVER_VERSION, uptime: Math.floor(process.uptime()) };
    },

    async status(): Promise<SystemStatus> {
      const [r, ws, t] = await Promise.all([readiness(), webSocket(), totals()]);
      const services = { api: apiState(t.totals), websocket: state(ws), database: state(ok(r, 'postgres')), cache: state(ok(r, 'redis') && t.shared) };
      return { status: overallStatus(services), services, metrics: statusFigures(t.totals, STATUS_WINDOW_SECONDS) };
    },
  };
}

export type StatusBoard = ReturnType<typeof createStatusBoard>;
