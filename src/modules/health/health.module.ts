import { defineModule } from '../module.js';
import { HealthResolver } from './health.resolver.js';
import { healthRoutes } from './health.routes.js';
import { createHealthService, type HealthService } from './health.service.js';
import { createStatusBoard } from './health.status.js';
import { statusRoutes } from './health.status.routes.js';

export const healthModule = defineModule<{ health: HealthService }>({
  name: 'health',
  resolvers: [HealthResolver],
  create({ pool, redis, redisFallbacks, clock, config, logger, runtime }) {
    const health = createHealthService({ pool, redis, fallbacks: redisFallbacks, clock, logger, timeoutMs: config.DEPENDENCY_TIMEOUT_MS });
    const status = createStatusBoard({ redis, prefix: config.REDIS_PREFIX, runtime, clock, logger, readiness: () => health.readiness(), timeoutMs: config.DEPENDENCY_TIMEOUT_MS });
    return {
      services: { health },
      routes: [
        { mount: '/', routes: healthRoutes(health) },
        { mount: '/api/v1', routes: statusRoutes(status) },
      ],
      onStart: () => status.start(),
      onStop: () => status.stop(),
    };
  },
});
