import { defineModule } from '../module.js';
import { HealthResolver } from './health.resolver.js';
import { healthRoutes } from './health.routes.js';
import { createHealthService, type HealthService } from './health.service.js';

export const healthModule = defineModule<{ health: HealthService }>({
  name: 'health',
  resolvers: [HealthResolver],
  create({ pool, redis, redisFallbacks, clock, config, logger }) {
    const health = createHealthService({ pool, redis, fallbacks: redisFallbacks, clock, logger, timeoutMs: config.DEPENDENCY_TIMEOUT_MS });
    return { services: { health }, routes: [{ mount: '/', routes: healthRoutes(health) }] };
  },
});
