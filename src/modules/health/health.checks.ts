import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type pg from 'pg';
import type { Config } from '../../config.js';
import type { Clock } from '../../infra/clock.js';
import type { JobRegistry } from '../../infra/jobs.js';
import type { Logger } from '../../infra/logger.js';
import type { Outbox } from '../../infra/outbox.js';
import type { Database } from '../../infra/prisma.js';
import type { ProcessRuntime } from '../../infra/runtime.js';
import { inTransaction } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { HEALTH_SYSTEMS, isStale, parseDuration, summarize, worst, type HealthStatus, type HealthSystem } from '../../lib/health.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';
import type { HealthConfig, HealthSettings } from './health.config.js';
import { HEALTH_CHANGED, type HealthChangedEvent } from './health.events.js';
import {
  describeError,
  probeApi,
  probeData,
  probeDisk,
  probeNetwork,
  probePostgres,
  probeRedis,
  probeService,
  probeSystem,
  probeWebSocket,
  type ProbeContext,
  type ProbeResult,
} from './health.probes.js';

/** One system's result in a run, as stored and answered (the seed's check shape, plus the stored id). */
export interface HealthCheckRecord {
  id: string;
  system: HealthSystem;
  status: HealthStatus;
  message: string;
  metrics: Record<string, unknown>;
  timestamp: Date;
  /** Milliseconds the check took. */
  duration: number;
}

export interface HealthRun {
  overallStatus: HealthStatus;
  checks: HealthCheckRecord[];
  summary: { total: number; healthy: number; degraded: number; unhealthy: number };
  /** Systems asked for that this process cannot check, and why (nothing is stored for them). */
  skipped: { system: HealthSystem; reason: string }[];
  /** Milliseconds the whole run took. */
  duration: number;
}

export interface SystemHealth {
  system: HealthSystem;
  status: HealthStatus;
  message: string;
  checkedAt: Date;
  /** Since when the system has had this status. */
  since: Date;
  /** No check refreshed it for three intervals: its scheduler or the workers stopped. */
  stale: boolean;
}

export interface HealthSummary {
  /** The worst of the enabled systems; degraded while one of them has no result or a stale one. */
  status: HealthStatus;
  lastCheck: Date | null;
  systems: SystemHealth[];
}

export interface HealthHistoryFilter {
  system?: HealthSystem | null;
  status?: HealthStatus | null;
  /** A duration back from now (`1h`, `7d`) or an ISO-8601 instant. */
  since?: string | null;
}

export interface ConnectivityCheck {
  status: 'healthy' | 'unhealthy';
  latencyMs: number;
  error: string | null;
}

/** A run asked for (POST /api/v1/health/check, runHealthCheck): which systems, and a cap in seconds on every check's timeout. */
export const healthRunRequest = z.strictObject({
  systems: z.array(z.enum(HEALTH_SYSTEMS)).min(1).optional(),
  timeout: z.number().positive().max(60).optional(),
});

const SKIP_NO_HTTP = 'this process serves no HTTP; set HEALTH_API_URL to check the API from here';

export interface HealthChecksDeps {
  db: Database;
  pool: pg.Pool;
  redis: Redis;
  jobs: Pick<JobRegistry, 'queueHealth'>;
  outbox: Pick<Outbox, 'add' | 'nudge'>;
  clock: Clock;
  logger: Logger;
  config: Config;
  runtime: Pick<ProcessRuntime, 'url' | 'instanceId'>;
  settings: Pick<HealthSettings, 'get'>;
}

/**
 * The health checks of api.md: seven systems, each probed with its own timeout, run on demand or
 * by the scheduler, stored as history, each system's latest result kept in `HealthState`. A run's
 * results are compared with the latest ones under one advisory lock, so two runs finishing at once
 * (a scheduled one and an operator's) publish each change once and never lose one.
 */
export function createHealthChecks(deps: HealthChecksDeps) {
  const databaseUrl = deps.config.HEALTH_DATABASE_URL ?? deps.config.DATABASE_URL;
  // Read when a check runs: an API process learns its own URL only once it listens.
  const apiBase = () => deps.config.HEALTH_API_URL ?? deps.runtime.url;

  function probe(system: HealthSystem, ctx: ProbeContext, thresholds: HealthConfig['thresholds'], base: string | undefined): Promise<ProbeResult> {
    switch (system) {
      case 'system':
        return probeSystem(ctx, thresholds);
      case 'disk':
        return probeDisk(ctx, deps.config.DATA_DIR, thresholds);
      case 'api':
        return probeApi(ctx, base!);
      case 'websocket':
        return probeWebSocket(ctx, base!);
      case 'data':
        return probeData(ctx, databaseUrl, deps.pool, deps.config.DATABASE_POOL_MAX);
      case 'service':
        return probeService(ctx, deps.redis, deps.jobs);
      case 'network':
        return probeNetwork(ctx, deps.config.HEALTH_DEPENDENCIES);
    }
  }

  /** Runs one probe within `timeoutMs`: past it, or when the probe throws, the system is unhealthy. */
  async function timed(run: (ctx: ProbeContext) => Promise<ProbeResult>, timeoutMs: number): Promise<ProbeResult & { duration: number }> {
    const controller = new AbortController();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<ProbeResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ status: 'unhealthy', message: `no answer within ${timeoutMs} ms`, metrics: { timeoutMs } });
      }, timeoutMs);
    });
    try {
      const result = await Promise.race([
        run({ timeoutMs, signal: controller.signal }).catch((err): ProbeResult => ({ status: 'unhealthy', message: `check failed: ${describeError(err)}`, metrics: {} })),
        expired,
      ]);
      return { ...result, duration: Math.round(performance.now() - started) };
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  }

  /** Stores a run's results and moves each system's state; the changes go to the outbox in the same transaction. */
  async function store(runId: string, trigger: 'schedule' | 'manual', checks: HealthCheckRecord[]): Promise<HealthChangedEvent[]> {
    if (!checks.length) return [];
    const changes = await inTransaction(deps.pool, async (sql) => {
      await sql.query({ name: 'opsgraph.health.lock', text: 'SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtext($1))', values: ['opsgraph:health.state'] });
      await sql.execute({
        name: 'opsgraph.health.insert',
        text: `INSERT INTO "HealthCheck" (id, "runId", system, status, message, metrics, "durationMs", trigger, "instanceId", at)
               SELECT t.id, $1::uuid, t.system, t.status::"HealthStatus", t.message, t.metrics, t.duration, $2::"HealthTrigger", $3, t.at
               FROM jsonb_to_recordset($4::jsonb) AS t(id uuid, system text, status text, message text, metrics jsonb, duration int, at timestamptz)`,
        values: [runId, trigger, deps.runtime.instanceId, JSON.stringify(checks.map((c) => ({ ...c, at: c.timestamp })))],
      });
      const previous = await sql.query<{ system: HealthSystem; status: HealthStatus; checkedAt: Date; since: Date }>({
        name: 'opsgraph.health.states',
        text: `SELECT system, status::text AS status, "checkedAt", since FROM "HealthState" WHERE system = ANY($1::text[])`,
        values: [checks.map((c) => c.system)],
      });
      const bySystem = new Map(previous.map((p) => [p.system, p]));
      const moves: { system: string; status: HealthStatus; message: string; checkId: string; at: Date; since: Date }[] = [];
      const events: HealthChangedEvent[] = [];
      for (const c of checks) {
        const prev = bySystem.get(c.system);
        // A run that finished after a newer one (a slow probe) adds history, not the current state.
        if (prev && c.timestamp < prev.checkedAt) continue;
        const changed = prev ? prev.status !== c.status : c.status !== 'healthy';
        moves.push({ system: c.system, status: c.status, message: c.message, checkId: c.id, at: c.timestamp, since: prev && prev.status === c.status ? prev.since : c.timestamp });
        if (changed) {
          events.push({ system: c.system, previousStatus: prev?.status ?? null, status: c.status, message: c.message, details: c.metrics, checkId: c.id, at: c.timestamp });
        }
      }
      if (moves.length) {
        await sql.execute({
          name: 'opsgraph.health.move',
          text: `INSERT INTO "HealthState" (system, status, message, "checkId", "checkedAt", since)
                 SELECT t.system, t.status::"HealthStatus", t.message, t."checkId", t.at, t.since
                 FROM jsonb_to_recordset($1::jsonb) AS t(system text, status text, message text, "checkId" uuid, at timestamptz, since timestamptz)
                 ON CONFLICT (system) DO UPDATE SET status = EXCLUDED.status, message = EXCLUDED.message, "checkId" = EXCLUDED."checkId",
                   "checkedAt" = EXCLUDED."checkedAt", since = EXCLUDED.since`,
          values: [JSON.stringify(moves)],
        });
      }
      await deps.outbox.add(sql, HEALTH_CHANGED, events);
      return events;
    });
    if (changes.length) deps.outbox.nudge();
    return changes;
  }

  async function run(systems: readonly HealthSystem[], capSeconds: number | undefined, trigger: 'schedule' | 'manual'): Promise<HealthRun> {
    const started = performance.now();
    const settings = await deps.settings.get();
    const base = apiBase();
    const skipped = base ? [] : systems.filter((s) => s === 'api' || s === 'websocket').map((system) => ({ system, reason: SKIP_NO_HTTP }));
    const runnable = systems.filter((s) => !skipped.some((k) => k.system === s));
    const results = await Promise.all(
      runnable.map(async (system): Promise<HealthCheckRecord> => {
        const seconds = Math.min(settings.timeouts[system], capSeconds ?? Infinity);
        const r = await timed((ctx) => probe(system, ctx, settings.thresholds, base), Math.max(1, Math.round(seconds * 1_000)));
        return { id: randomUUID(), system, status: r.status, message: r.message, metrics: r.metrics, timestamp: deps.clock.now(), duration: r.duration };
      }),
    );
    await store(randomUUID(), trigger, results);
    const statuses = results.map((r) => r.status);
    return { overallStatus: worst(statuses), checks: results, summary: summarize(statuses), skipped, duration: Math.round(performance.now() - started) };
  }

  function since(text: string): Date {
    const ms = parseDuration(text);
    if (ms !== null) return new Date(deps.clock.now().getTime() - ms);
    if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
      const at = new Date(text);
      if (!Number.isNaN(at.getTime())) return at;
    }
    throw new AppError('BAD_USER_INPUT', 'since: a duration such as 30m, 1h, 7d, or an ISO-8601 instant', { field: 'since' });
  }

  async function reach(check: (ctx: ProbeContext) => Promise<{ latencyMs: number }>, timeoutMs: number): Promise<ConnectivityCheck> {
    const r = await timed(async (ctx) => ({ status: 'healthy', message: '', metrics: await check(ctx) }), timeoutMs);
    if (r.status === 'healthy') return { status: 'healthy', latencyMs: r.metrics.latencyMs as number, error: null };
    return { status: 'unhealthy', latencyMs: r.duration, error: r.message.replace(/^check failed: /, '') };
  }

  return {
    /** Runs the systems given (the enabled ones when none), each within its timeout and at most `timeoutSeconds`; stores the results. */
    async runHealthCheck(systems?: readonly HealthSystem[] | null, timeoutSeconds?: number | null): Promise<HealthRun> {
      const list = systems?.length ? HEALTH_SYSTEMS.filter((s) => systems.includes(s)) : (await deps.settings.get()).enabledSystems;
      return run(list, timeoutSeconds ?? undefined, 'manual');
    },

    /** The scheduler's run: every enabled system. */
    async scheduledRun(): Promise<HealthRun> {
      return run((await deps.settings.get()).enabledSystems, undefined, 'schedule');
    },

    async status(): Promise<HealthSummary> {
      const [settings, states] = await Promise.all([deps.settings.get(), deps.db.healthState.findMany()]);
      const now = deps.clock.now();
      const systems = HEALTH_SYSTEMS.filter((s) => settings.enabledSystems.includes(s)).flatMap((system): SystemHealth[] => {
        const st = states.find((s) => s.system === system);
        return st ? [{ system, status: st.status, message: st.message, checkedAt: st.checkedAt, since: st.since, stale: isStale(st.checkedAt, now, settings.interval) }] : [];
      });
      const unverified = systems.length < settings.enabledSystems.length || systems.some((s) => s.stale);
      const lastCheck = systems.reduce<Date | null>((at, s) => (!at || s.checkedAt > at ? s.checkedAt : at), null);
      return { status: worst([...systems.map((s) => s.status), ...(unverified ? (['degraded'] as const) : [])]), lastCheck, systems };
    },

    async history(filter: HealthHistoryFilter = {}, page?: PageRequest | null): Promise<Page<HealthCheckRecord>> {
      const p = resolvePage(page, ['timestamp'] as const, 'timestamp');
      const where = {
        ...(filter.system ? { system: filter.system } : {}),
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.since ? { at: { gte: since(filter.since) } } : {}),
      };
      const [rows, total] = await Promise.all([
        deps.db.healthCheck.findMany({ where, orderBy: [{ at: p.order }, { id: p.order }], skip: p.skip, take: p.take }),
        deps.db.healthCheck.count({ where }),
      ]);
      return {
        items: rows.map((r) => ({
          id: r.id,
          system: r.system as HealthSystem,
          status: r.status,
          message: r.message,
          metrics: r.metrics as Record<string, unknown>,
          timestamp: r.at,
          duration: r.durationMs,
        })),
        pageInfo: pageInfo(total, p.page, p.limit),
      };
    },

    /** Results older than HEALTH_HISTORY_DAYS go; each system's latest stays in HealthState whatever its age. */
    async prune(): Promise<number> {
      const before = new Date(deps.clock.now().getTime() - deps.config.HEALTH_HISTORY_DAYS * 86_400_000);
      return (await deps.db.healthCheck.deleteMany({ where: { at: { lt: before } } })).count;
    },

    /** GET /api/v1/monitoring/health: PostgreSQL, Redis and this API reached now, each within the check timeout; nothing stored. */
    async connectivity(): Promise<{ status: HealthStatus; services: { postgres: ConnectivityCheck; redis: ConnectivityCheck; api: ConnectivityCheck } }> {
      const timeoutMs = (await deps.settings.get().catch(() => ({ timeout: deps.config.HEALTH_CHECK_TIMEOUT_SECONDS }))).timeout * 1_000;
      const base = apiBase();
      const [postgres, redis, api] = await Promise.all([
        reach((ctx) => probePostgres(ctx, databaseUrl), timeoutMs),
        reach(() => probeRedis(deps.redis), timeoutMs),
        base
          ? reach(async (ctx) => {
              const r = await probeApi(ctx, base);
              if (r.status !== 'healthy') throw new Error(r.message);
              return { latencyMs: r.metrics.latencyMs as number };
            }, timeoutMs)
          : Promise.resolve<ConnectivityCheck>({ status: 'unhealthy', latencyMs: 0, error: SKIP_NO_HTTP }),
      ]);
      return { status: worst([postgres.status, redis.status, api.status]), services: { postgres, redis, api } };
    },
  };
}

export type HealthChecks = ReturnType<typeof createHealthChecks>;
