import { healthModule } from '../health/health.module.js';
import { metricsModule } from '../metrics/metrics.module.js';
import { defineModule } from '../module.js';
import { slaModule } from '../sla/sla.module.js';
import { createOpsConsole, type OpsConsole } from './runbooks.console.js';
import { createRunbookCatalog } from './runbooks.definitions.js';
import { runbookJobs } from './runbooks.jobs.js';
import { createRunbookLock } from './runbooks.lock.js';
import { RunbooksResolver } from './runbooks.resolver.js';
import { opsRoutes } from './runbooks.routes.js';
import { createRunbooksService, type RunbooksService } from './runbooks.service.js';

/**
 * Runbooks and the ops console (seed 002): the definitions of RUNBOOKS_FILE, their runs on the
 * `runbooks` workers, the console state they move, and /api/ops. Asks the SLA module for fleet
 * coverage, the health module for its dependency pings, and the metrics store for the console's
 * stored entries, its time series and the samples side of the throughput.
 */
export const runbooksModule = defineModule<{ runbooks: RunbooksService; console: OpsConsole }>({
  name: 'runbooks',
  resolvers: [RunbooksResolver],
  create({ db, redis, clock, logger, audit, outbox, jobs, config, servicesOf }) {
    const log = logger.child({ module: 'runbooks' });
    // A bad file throws here, naming its line: the server does not start with runbooks it cannot read.
    const catalog = createRunbookCatalog(config.RUNBOOKS_FILE, log);
    const { fleet } = servicesOf(slaModule);
    const { health } = servicesOf(healthModule);
    const { metrics } = servicesOf(metricsModule);
    const defs = runbookJobs((runId) => runbooks.runJob(runId), { everyMs: config.OPS_CONSOLE_SAMPLE_SECONDS * 1_000, record: () => console.record() });
    const runbooks: RunbooksService = createRunbooksService({
      db,
      clock,
      logger: log,
      audit,
      outbox,
      catalog,
      lock: createRunbookLock(redis, config.REDIS_PREFIX),
      health: {
        dependencies: async () => (await health.readiness()).checks,
        coverage: () => fleet.coverage(),
      },
      enqueue: (runId) => jobs.enqueue(defs.execute, { runId }),
      graceMs: config.RUNBOOKS_KILL_GRACE_SECONDS * 1_000,
      maxLogLines: config.RUNBOOKS_LOG_MAX_LINES,
      pickupMs: config.RUNBOOKS_PICKUP_SECONDS * 1_000,
    });
    const console: OpsConsole = createOpsConsole({
      runbooks,
      fleet,
      metrics,
      jobs,
      clock,
      stored: config.OPS_CONSOLE_METRICS,
      staleMs: config.OPS_METRIC_STALE_SECONDS * 1_000,
    });
    return {
      services: { runbooks, console },
      routes: [{ mount: '/api/ops', routes: opsRoutes(runbooks, console) }],
      jobs: Object.values(defs),
      onStart: async () => catalog.watch(),
      onStop: async () => catalog.close(),
    };
  },
});
