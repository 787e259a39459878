import type { AuditActor } from '../../auth/actor.js';
import type { AuditRecorder } from '../../infra/audit-recorder.js';
import type { Clock } from '../../infra/clock.js';
import type { AnyJob } from '../../infra/jobs.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../infra/prisma.js';
import { AppError } from '../../lib/errors.js';
import { BUILT_IN_METRICS, COLLECTORS, isCollector, type CollectorName } from './metrics.catalog.js';
import type { Ingest } from './metrics.ingest.js';
import type { Reader } from './metrics.readings.js';

export const DEFAULT_INTERVAL_SECONDS = 10;
export const MIN_INTERVAL_SECONDS = 1;
export const MAX_INTERVAL_SECONDS = 3_600;

/**
 * Where each collector runs. `process` and `api` read this process's own memory, so every process
 * runs them on a timer; the others read shared things (the host of the workers, PostgreSQL, Redis,
 * the queues), so they are job schedulers on the workers: one collection per tick however many
 * workers there are.
 */
export const IN_PROCESS: readonly CollectorName[] = ['process', 'api'];
export const SCHEDULED: readonly CollectorName[] = COLLECTORS.filter((c) => !IN_PROCESS.includes(c));

export interface CollectorRecord {
  name: string;
  enabled: boolean;
  interval: number;
  metricsCount: number;
  collectionCount: number;
  errorCount: number;
  lastCollection: Date | null;
}

const metricsCount = (name: string) => BUILT_IN_METRICS.filter((m) => m.collector === name).length;

export interface CollectorsDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  audit: AuditRecorder;
  ingest: Ingest;
  readers: Record<CollectorName, Reader>;
  /** Sets the schedule of a worker collector's job (null: none). */
  schedule: (name: CollectorName, everyMs: number | null) => Promise<void>;
}

/** Collector settings (in the database, changed at run time), collection, and the timers of the in-process collectors. */
export function createCollectors(deps: CollectorsDeps) {
  const timers = new Map<CollectorName, NodeJS.Timeout>();
  let stopped = false;

  const toRecord = (r: { name: string; enabled: boolean; intervalSeconds: number; collectionCount: bigint; errorCount: bigint; lastCollection: Date | null }): CollectorRecord => ({
    name: r.name,
    enabled: r.enabled,
    interval: r.intervalSeconds,
    metricsCount: metricsCount(r.name),
    collectionCount: Number(r.collectionCount),
    errorCount: Number(r.errorCount),
    lastCollection: r.lastCollection,
  });

  async function ensureRows(): Promise<void> {
    await deps.db.metricCollector.createMany({ data: COLLECTORS.map((name) => ({ name, intervalSeconds: DEFAULT_INTERVAL_SECONDS })), skipDuplicates: true });
  }

  async function settings(name: CollectorName): Promise<{ enabled: boolean; interval: number }> {
    const row = await deps.db.metricCollector.findUnique({ where: { name }, select: { enabled: true, intervalSeconds: true } });
    return row ? { enabled: row.enabled, interval: row.intervalSeconds } : { enabled: true, interval: DEFAULT_INTERVAL_SECONDS };
  }

  /** One collection: read, store through the ingest path, count it (or count the error and keep going). */
  async function collect(name: CollectorName): Promise<number> {
    const at = deps.clock.now();
    try {
      const readings = await deps.readers[name]();
      const { accepted } = await deps.ingest.ingest(
        readings.map((r) => ({ name: r.name, value: r.value, timestamp: at, labels: r.labels ?? {} })),
        name,
      );
      await deps.db.metricCollector.update({ where: { name }, data: { collectionCount: { increment: 1 }, lastCollection: at, lastError: null } });
      return accepted;
    } catch (err) {
      deps.logger.warn({ collector: name, err: (err as Error).message }, 'metrics: collection failed');
      await deps.db.metricCollector.update({ where: { name }, data: { errorCount: { increment: 1 }, lastError: (err as Error).message.slice(0, 500) } }).catch(() => undefined);
      return 0;
    }
  }

  /** The in-process loop: settings re-read at each tick, so a change is in force within one old interval. */
  function tick(name: CollectorName): void {
    if (stopped) return;
    void (async () => {
      let next = DEFAULT_INTERVAL_SECONDS;
      try {
        const s = await settings(name);
        next = s.interval;
        if (s.enabled) await collect(name);
      } catch (err) {
        deps.logger.warn({ collector: name, err: (err as Error).message }, 'metrics: collector tick failed');
      }
      if (!stopped) timers.set(name, setTimeout(() => tick(name), next * 1_000).unref());
    })();
  }

  async function applySchedule(name: CollectorName, s: { enabled: boolean; interval: number }): Promise<void> {
    if (!SCHEDULED.includes(name)) return;
    await deps.schedule(name, s.enabled ? s.interval * 1_000 : null);
  }

  return {
    async list(): Promise<CollectorRecord[]> {
      const rows = await deps.db.metricCollector.findMany({ orderBy: { name: 'asc' } });
      const byName = new Map(rows.map((r) => [r.name, r]));
      return COLLECTORS.filter((c) => byName.has(c)).map((c) => toRecord(byName.get(c)!));
    },

    /**
     * Changes a collector, audited; the worker collectors' schedule is replaced inside the same
     * transaction, so a change that cannot be put in force (Redis away) is not stored either.
     */
    async update(name: string, input: { enabled?: boolean; interval?: number }, actor: AuditActor): Promise<{ name: string; enabled: boolean; interval: number }> {
      if (!isCollector(name)) throw new AppError('NOT_FOUND', `unknown collector ${name}; known: ${COLLECTORS.join(', ')}`, { field: 'name' });
      if (input.interval !== undefined && (!Number.isInteger(input.interval) || input.interval < MIN_INTERVAL_SECONDS || input.interval > MAX_INTERVAL_SECONDS)) {
        throw new AppError('BAD_USER_INPUT', `interval: whole seconds from ${MIN_INTERVAL_SECONDS} to ${MAX_INTERVAL_SECONDS}`, { field: 'interval' });
      }
      await ensureRows();
      return deps.db.$transaction(async (tx) => {
        const before = await tx.metricCollector.findUniqueOrThrow({ where: { name } });
        const after = await tx.metricCollector.update({
          where: { name },
          data: { ...(input.enabled !== undefined ? { enabled: input.enabled } : {}), ...(input.interval !== undefined ? { intervalSeconds: input.interval } : {}), updatedAt: deps.clock.now() },
        });
        try {
          await applySchedule(name, { enabled: after.enabled, interval: after.intervalSeconds });
        } catch (err) {
          throw new AppError('COLLECTOR_FAILED', `collector ${name}: the schedule could not be changed (${(err as Error).message}); nothing was changed`, { collector: name });
        }
        await deps.audit.record(tx, actor, {
          action: 'metrics.collector.update',
          resourceType: 'metric_collector',
          resourceId: name,
          before: { enabled: before.enabled, interval: before.intervalSeconds },
          after: { enabled: after.enabled, interval: after.intervalSeconds },
        });
        return { name, enabled: after.enabled, interval: after.intervalSeconds };
      });
    },

    /** A worker collector's job: collects unless the collector was disabled meanwhile. */
    async runScheduled(name: CollectorName): Promise<number> {
      const s = await settings(name);
      return s.enabled ? collect(name) : 0;
    },

    /** At start: the rows exist; every process starts its in-process collectors; workers put the schedules in force. */
    async start(isWorker: boolean): Promise<void> {
      await ensureRows();
      for (const name of IN_PROCESS) tick(name);
      if (isWorker) for (const name of SCHEDULED) await applySchedule(name, await settings(name));
    },

    stop(): void {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },

    activeCount: async () => deps.db.metricCollector.count({ where: { enabled: true } }),
  };
}

export type Collectors = ReturnType<typeof createCollectors>;
export type CollectorJobs = Record<CollectorName, AnyJob>;
