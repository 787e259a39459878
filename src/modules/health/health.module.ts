import { mkdir } from 'node:fs/promises';
import { defineModule } from '../module.js';
import { createHealthChecks, type HealthChecks } from './health.checks.js';
import { createHealthSettings, type HealthSettings } from './health.config.js';
import { healthJobs } from './health.jobs.js';
import { HealthChecksResolver } from './health-checks.resolver.js';
import { healthCheckRoutes } from './health-checks.routes.js';
import { HealthResolver } from './health.resolver.js';
import { healthRoutes } from './health.routes.js';
import { createHealthService, type HealthService } from './health.service.js';
import { createStatusBoard } from './health.status.js';
import { statusRoutes } from './health.status.routes.js';

export const healthModule = defineModule<{ health: HealthService; checks: HealthChecks; settings: HealthSettings }>({
  name: 'health',
  resolvers: [HealthResolver, HealthChecksResolver],
  create({ db, pool, redis, redisFallbacks, clock, config, logger, audit, jobs, outbox, runtime }) {
    const health = createHealthService({ pool, redis, fallbacks: redisFallbacks, clock, logger, timeoutMs: config.DEPENDENCY_TIMEOUT_MS });
    const settings = createHealthSettings({ db, config, audit, logger, onIntervalChange: (seconds) => jobs.reschedule(defs.check, seconds * 1_000) });
    const checks = createHealthChecks({ db, pool, redis, jobs, outbox, clock, logger, config, runtime, settings });
    const defs = healthJobs({ checks, settings, jobs, intervalSeconds: config.HEALTH_INTERVAL_SECONDS });
    const status = createStatusBoard({ redis, prefix: config.REDIS_PREFIX, runtime, clock, logger, readiness: () => health.readiness(), timeoutMs: config.DEPENDENCY_TIMEOUT_MS });
    return {
      services: { health, checks, settings },
      routes: [
        { mount: '/', routes: healthRoutes(health) },
        { mount: '/api/v1', routes: [...healthCheckRoutes({ checks, settings }), ...statusRoutes(status)] },
      ],
      jobs: Object.values(defs),
      async onStart() {
        // Workers register the schedule after this: with the stored interval, not the environment's default.
        const { interval } = await settings.get();
        defs.check.schedule = { every: interval * 1_000, payload: {} };
        // The disk check measures the filesystem the server writes its files to, from the first run on.
        if (runtime.role === 'worker' && !config.HEALTH_API_URL) logger.info('health checks: api and websocket are skipped in this worker-only process; set HEALTH_API_URL to check them from here');
        await mkdir(config.DATA_DIR, { recursive: true }).catch((err) => logger.warn({ dir: config.DATA_DIR, err: (err as Error).message }, 'cannot create DATA_DIR'));
        await status.start();
      },
      onStop: () => status.stop(),
    };
  },
});
