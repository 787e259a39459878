import { z } from 'zod';
import { assertNodeAccess } from '../../auth/guards.js';
import type { Config } from '../../config.js';
import { agentRoute, requestActor, type RouteDef } from '../../http/routes.js';
import { isoInstant, parseInput, withinWindow } from '../../http/validate.js';
import type { Clock } from '../../infra/clock.js';
import { TIERS } from '../../lib/sla-targets.js';
import { SERVICE_STATUSES } from '../../lib/status-history.js';
import type { StatusIngest } from './sla.ingest.js';
import type { FleetService } from './sla.fleet.js';
import { nodeIdField, serviceNameField } from './sla.records.js';

const text = (max: number) => z.string().trim().min(1).max(max);
const count = z.number().int().min(0).max(1_000_000);

function statusBody(maxServices: number) {
  return z.strictObject({
    nodeId: nodeIdField,
    operatorVersion: text(64).optional(),
    observedAt: isoInstant.optional(),
    services: z
      .array(
        // A field left out keeps its stored value; an explicit null clears it.
        z.strictObject({
          name: serviceNameField,
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
  nodeId: nodeIdField,
  version: text(64).optional(),
  watchedServices: count.optional(),
  healthyServices: count.optional(),
  unhealthyServices: count.optional(),
});

const registerBody = z.strictObject({
  name: serviceNameField,
  displayName: text(255).nullable().optional(),
  nodeId: nodeIdField,
  namespace: text(253).nullable().optional(),
  criticality: text(32).nullable().optional(),
  operations: z
    .strictObject({
      backup: z
        .strictObject({
          expected: z.boolean(),
          maxAgeDays: z.number().int().min(1).max(3_650).default(1),
          // Sanity bounds: a "successful" backup smaller or quicker than these counts as failed.
          minSizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
          minDurationSeconds: z.number().int().min(0).max(604_800).nullable().optional(),
          maxVerifiedAgeDays: z.number().int().min(1).max(3_650).nullable().optional(),
        })
        .optional(),
    })
    .optional(),
});

/**
 * The operator agents' REST API: API keys with the operator scope, the agent rate limit, and a
 * key bound to a node may only speak for that node.
 */
export function slaRoutes(deps: {
  fleet: FleetService;
  ingest: StatusIngest;
  clock: Clock;
  config: Pick<Config, 'MAX_SERVICES_PER_REPORT' | 'REPORT_REPLAY_HOURS'>;
}): RouteDef[] {
  const status = statusBody(deps.config.MAX_SERVICES_PER_REPORT);

  // Status reports may replay what an agent buffered, up to the replay window, and never run over a minute ahead.
  const replayWindow = { maxAgeMs: deps.config.REPORT_REPLAY_HOURS * 3_600_000, maxAheadMs: 60_000 };

  return [
    agentRoute('post', '/operator/status', 'operator', async (req, res) => {
      const body = parseInput(status, req.body);
      assertNodeAccess(req.principal, body.nodeId);
      const result = await deps.ingest.ingest({ ...body, observedAt: withinWindow(body.observedAt, deps.clock.now(), 'observedAt', replayWindow) }, requestActor(req));
      // Known services are always recorded; new ones beyond the license's maxServices are listed, not created.
      const refusal = result.refused
        ? { message: `${result.refused.length} new service(s) refused: the license allows at most ${result.maxServices} services` }
        : {};
      res.json({ success: true, ...result, ...refusal });
    }),
    agentRoute('post', '/operator/heartbeat', 'operator', async (req, res) => {
      const body = parseInput(heartbeatBody, req.body);
      assertNodeAccess(req.principal, body.nodeId);
      await deps.fleet.heartbeat(body);
      res.json({ success: true });
    }),
    agentRoute('post', '/operator/register', 'operator', async (req, res) => {
      const body = parseInput(registerBody, req.body);
      assertNodeAccess(req.principal, body.nodeId);
      const { created, service } = await deps.fleet.register({ ...body, backup: body.operations?.backup }, requestActor(req));
      res.status(created ? 201 : 200).json({ success: true, service });
    }),
    agentRoute('get', '/operator/services', 'operator', async (req, res) => {
      const { nodeId: id } = parseInput(z.strictObject({ nodeId: nodeIdField }), req.query, 'query');
      assertNodeAccess(req.principal, id);
      res.json({ success: true, services: await deps.fleet.agentServices(id) });
    }),
  ];
}
