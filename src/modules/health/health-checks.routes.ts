import { z } from 'zod';
import { sendData } from '../../http/envelope.js';
import { requestActor, type RouteDef } from '../../http/routes.js';
import { parseInput } from '../../http/validate.js';
import { HEALTH_STATUSES, HEALTH_SYSTEMS } from '../../lib/health.js';
import { MAX_LIMIT } from '../../lib/pagination.js';
import { healthRunRequest, type HealthChecks, type HealthCheckRecord, type HealthRun } from './health.checks.js';
import { healthConfigPatch, type HealthSettings } from './health.config.js';

const historyQuery = z.strictObject({
  system: z.enum(HEALTH_SYSTEMS).optional(),
  status: z.enum(HEALTH_STATUSES).optional(),
  since: z.string().trim().min(1).max(40).optional(),
  page: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});

const checkJson = (c: HealthCheckRecord) => ({ ...c, timestamp: c.timestamp.toISOString() });

const runJson = (r: HealthRun) => ({
  overallStatus: r.overallStatus,
  checks: r.checks.map(checkJson),
  summary: r.summary,
  ...(r.skipped.length ? { skipped: r.skipped } : {}),
  duration: r.duration,
});

/** The seed 000 Health Check API and seed 001's connectivity check, in the seed 000 envelope. */
export function healthCheckRoutes(deps: { checks: HealthChecks; settings: HealthSettings }): RouteDef[] {
  const { checks, settings } = deps;
  return [
    {
      method: 'post',
      path: '/health/check',
      access: 'OPERATOR',
      rateLimit: 'standard',
      handler: async (req, res) => {
        // A bare POST (no body) runs the enabled systems, as `{}` does.
        const body = parseInput(healthRunRequest, req.body ?? {});
        sendData(res, runJson(await checks.runHealthCheck(body.systems, body.timeout)));
      },
    },
    {
      method: 'get',
      path: '/health/status',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (_req, res) => {
        const s = await checks.status();
        sendData(res, {
          status: s.status,
          lastCheck: s.lastCheck?.toISOString() ?? null,
          systems: Object.fromEntries(s.systems.map((x) => [x.system, x.status])),
          // Beyond the seed: each system's line, when it was checked, since when it has been so, and whether that is stale.
          details: Object.fromEntries(
            s.systems.map((x) => [x.system, { status: x.status, message: x.message, checkedAt: x.checkedAt.toISOString(), since: x.since.toISOString(), stale: x.stale }]),
          ),
        });
      },
    },
    {
      method: 'get',
      path: '/health/history',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const q = parseInput(historyQuery, req.query, 'query');
        const page = await checks.history({ system: q.system, status: q.status, since: q.since }, { page: q.page, limit: q.limit, order: q.order });
        sendData(res, page.items.map(checkJson), 200, { pagination: page.pageInfo });
      },
    },
    {
      method: 'get',
      path: '/health/config',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (_req, res) => sendData(res, await settings.get()),
    },
    {
      method: 'patch',
      path: '/health/config',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const patch = parseInput(healthConfigPatch, req.body);
        const { after } = await settings.update(patch, requestActor(req));
        sendData(res, { updated: true, config: after });
      },
    },
    {
      method: 'get',
      path: '/monitoring/health',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (_req, res) => sendData(res, await checks.connectivity()),
    },
  ];
}
