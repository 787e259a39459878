import { defineModule } from '../module.js';
import { slaModule } from '../sla/sla.module.js';
import { fleetGauges } from './prometheus.gauges.js';
import { prometheusRoutes } from './prometheus.routes.js';

/**
 * `GET /metrics`: this process's own metrics (infra/prometheus.ts) and the fleet's, asked of the
 * SLA module. Other modules add their gauges through their own `promMetrics`.
 */
export const prometheusModule = defineModule<Record<string, never>>({
  name: 'prometheus',
  create: ({ config, prometheus, servicesOf }) => ({
    services: {},
    routes: [{ mount: '/', routes: prometheusRoutes(prometheus, config.METRICS_TOKEN) }],
    promMetrics: fleetGauges(servicesOf(slaModule).fleet),
  }),
});
