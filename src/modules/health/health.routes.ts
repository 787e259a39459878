import type { RouteDef } from '../../http/routes.js';
import type { HealthService } from './health.service.js';

/** Probes for orchestrators: liveness says the process answers, readiness that its dependencies do. */
export function healthRoutes(health: HealthService): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/healthz',
      access: 'PUBLIC',
      rateLimit: null,
      handler: (_req, res) => res.json({ status: 'ok' }),
    },
    {
      method: 'get',
      path: '/readyz',
      access: 'PUBLIC',
      rateLimit: null,
      handler: async (_req, res) => {
        const r = await health.readiness();
        const failed = r.checks.filter((c) => !c.ok).map((c) => c.name);
        res.status(r.ready ? 200 : 503).json({
          status: r.ready ? 'ready' : 'unavailable',
          ...(failed.length ? { failed } : {}),
          checkedAt: r.checkedAt.toISOString(),
          // A check's fallbacks as an object ({ "rateLimit": 3, ... }); PostgreSQL has none.
          checks: Object.fromEntries(
            r.checks.map(({ name, fallbacks, ...rest }) => [name, fallbacks.length ? { ...rest, fallbacks: Object.fromEntries(fallbacks.map((f) => [f.name, f.count])) } : rest]),
          ),
        });
      },
    },
  ];
}
