import type { Request } from 'express';
import { z } from 'zod';
import { assertNodeAccess, type ApiKeyScope } from '../../auth/guards.js';
import type { Config } from '../../config.js';
import type { RouteDef } from '../../http/routes.js';
import { parseInput } from '../../http/validate.js';
import type { Clock } from '../../infra/clock.js';
import { AppError } from '../../lib/errors.js';
import { TIERS } from '../../lib/sla-targets.js';
import { SERVICE_STATUSES } from '../../lib/status-history.js';
import { actorOf } from '../../auth/actor.js';
import type { StatusIngest } from '../sla/sla.ingest.js';
import type { FleetService } from '../sla/sla.service.js';

const nodeId = z.string().trim().min(1).max(255);
const name = z.string().trim().min(1).max(253);
const text = (max: number) => z.string().trim().min(1).max(max);
const count = z.number().int().min(0).max(1_000_000);
const instant = z.iso.datetime({ offset: true }).transform((v) => new Date(v));

function statusBody(maxServices: number) {
  return z.strictObject({
    nodeId,
    operatorVersion: text(64).optional(),
    observedAt: instant.optional(),
    services: z
      .array(
        // A field left out keeps its stored value; an explicit null clears it.
        z.strictObject({
          name,
          status: z.enum(SERVICE_STATUSES),
          replicas: count.nullable().optional(),
          readyReplicas: count.nullable().optional(),
          slaGroup: text(255).nullable().optional(),
          workloadType: text(64).nullable().optional(),
          namespace: text(253).nullable().optional(),
          displayName: text(255).nullable().optional(),
        }),
      )
      .max(maxServices, `at most ${maxServices} services per report`)
      .superRefine((services, ctx) => {
        const seen = new Set<string>();
        services.forEach((s, i) => {
          if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `service "${s.name}" is listed twice` });
          seen.add(s.name);
        });
      }),
    slaGroups: z.array(z.strictObject({ name: text(255), displayName: text(255).optional(), tier: z.enum(TIERS).optional() })).max(1_000).default([]),
  });
}

const heartbeatBody = z.strictObject({
  nodeId,
  version: text(64).optional(),
  watchedServices: count.optional(),
  healthyServices: count.optional(),
  unhealthyServices: count.optional(),
});

const registerBody = z.strictObject({
  name,
  displayName: text(255).nullable().optional(),
  nodeId,
  namespace: text(253).nullable().optional(),
  criticality: text(32).nullable().optional(),
  operations: z.strictObject({ backup: z.strictObject({ expected: z.boolean(), maxAgeDays: z.number().int().min(1).max(3_650).default(1) }).optional() }).optional(),
});

const TARGETS = ['service', 'slaGroup', 'namespace'] as const;
const backupBody = z
  .strictObject({
    service: name.optional(),
    slaGroup: text(255).optional(),
    namespace: text(253).optional(),
    status: z.enum(['success', 'failed', 'partial']),
    sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    message: z.string().max(2_000).optional(),
    nodeId: nodeId.optional(),
    completedAt: instant.optional(),
    reportId: text(200).optional(),
  })
  .superRefine((b, ctx) => {
    const given = TARGETS.filter((t) => b[t] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [given[1] ?? 'service'], message: 'exactly one of service, slaGroup, namespace' });
    }
  });

const requestActor = (req: Request) => actorOf({ principal: req.principal, ip: req.ip, requestId: req.id });

/** Every route here is for agents' API keys and spends the agent budget. */
const agentRoute = (method: RouteDef['method'], path: string, handler: RouteDef['handler'], scope: ApiKeyScope = 'operator'): RouteDef => ({
  method,
  path,
  access: 'AGENT',
  scope,
  rateLimit: 'agent',
  handler,
});

/**
 * The agents' REST API (seed 003): API keys only, the agent rate limit, and a key
 * bound to a node may only speak for that node.
 */
export function operatorRoutes(deps: {
  fleet: FleetService;
  ingest: StatusIngest;
  clock: Clock;
  config: Pick<Config, 'MAX_SERVICES_PER_REPORT' | 'REPORT_REPLAY_HOURS'>;
}): RouteDef[] {
  const status = statusBody(deps.config.MAX_SERVICES_PER_REPORT);

  /**
   * Status reports may replay what an agent buffered, up to the replay window; a backup's
   * completion time may be any age (a job may retry long after). Neither runs over a minute ahead.
   */
  function checkInstant(at: Date | undefined, field: string, replayLimit: boolean): Date {
    const now = deps.clock.now();
    if (!at) return now;
    const oldest = now.getTime() - deps.config.REPORT_REPLAY_HOURS * 3_600_000;
    if (replayLimit && at.getTime() < oldest) throw new AppError('BAD_USER_INPUT', `${field} is more than ${deps.config.REPORT_REPLAY_HOURS} h old`, { field });
    if (at.getTime() > now.getTime() + 60_000) throw new AppError('BAD_USER_INPUT', `${field} is more than 60 s in the future`, { field });
    return at;
  }

  return [
    agentRoute('post', '/operator/status', async (req, res) => {
      const body = parseInput(status, req.body);
      assertNodeAccess(req.principal, body.nodeId);
      const result = await deps.ingest.ingest({ ...body, observedAt: checkInstant(body.observedAt, 'observedAt', true) }, requestActor(req));
      // Known services are always recorded; new ones beyond the license's maxServices are listed, not created.
      const refusal = result.refused
        ? { message: `${result.refused.length} new service(s) refused: the license allows at most ${result.maxServices} services` }
        : {};
      res.json({ success: true, ...result, ...refusal });
    }),
    agentRoute('post', '/operator/heartbeat', async (req, res) => {
      const body = parseInput(heartbeatBody, req.body);
      assertNodeAccess(req.principal, body.nodeId);
      await deps.fleet.heartbeat(body);
      res.json({ success: true });
    }),
    agentRoute('post', '/operator/register', async (req, res) => {
      const body = parseInput(registerBody, req.body);
      assertNodeAccess(req.principal, body.nodeId);
      const { created, service } = await deps.fleet.register({ ...body, backup: body.operations?.backup }, requestActor(req));
      res.status(created ? 201 : 200).json({ success: true, service });
    }),
    agentRoute('get', '/operator/services', async (req, res) => {
      const { nodeId: id } = parseInput(z.strictObject({ nodeId }), req.query, 'query');
      assertNodeAccess(req.principal, id);
      res.json({ success: true, services: await deps.fleet.agentServices(id) });
    }),
    agentRoute('post', '/backup/report', async (req, res) => {
      const body = parseInput(backupBody, req.body);
      const principal = req.principal;
      if (body.nodeId) assertNodeAccess(principal, body.nodeId);
      // A key bound to a node reports for that node's services only, named or not.
      const node = body.nodeId ?? (principal?.kind === 'apiKey' ? principal.nodeId ?? undefined : undefined);
      const target = body.service !== undefined ? { service: body.service } : body.slaGroup !== undefined ? { slaGroup: body.slaGroup } : { namespace: body.namespace! };
      const answer = await deps.fleet.recordBackup(
        {
          target,
          nodeId: node,
          status: body.status,
          sizeBytes: body.sizeBytes,
          message: body.message,
          completedAt: checkInstant(body.completedAt, 'completedAt', false),
          reportId: body.reportId,
        },
        // Deliveries are the same when the same key sent the same body, whatever defaults filled in.
        `${principal?.kind === 'apiKey' ? principal.keyId : 'anonymous'}\n${JSON.stringify(req.body)}`,
        requestActor(req),
      );
      res.json(answer);
    }, 'backup'),
  ];
}
