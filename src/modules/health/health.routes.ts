import { Router } from 'express';
import type { HealthService } from './health.service.js';

/** Probes for orchestrators: liveness says the process answers, readiness that its dependencies do. */
export function healthProbes(health: HealthService): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const r = await health.readiness();
    const failed = r.checks.filter((c) => !c.ok).map((c) => c.name);
    res.status(r.ready ? 200 : 503).json({
      status: r.ready ? 'ready' : 'unavailable',
      ...(failed.length ? { failed } : {}),
      checkedAt: r.checkedAt.toISOString(),
      checks: Object.fromEntries(r.checks.map(({ name, ...rest }) => [name, rest])),
    });
  });
  return router;
}
