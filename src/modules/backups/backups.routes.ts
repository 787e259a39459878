import { z } from 'zod';
import { assertNodeAccess } from '../../auth/guards.js';
import { agentRoute, requestActor, type RouteDef } from '../../http/routes.js';
import { isoInstant, parseInput, withinWindow } from '../../http/validate.js';
import type { Clock } from '../../infra/clock.js';
import { nodeIdField, serviceNameField } from '../sla/sla.records.js';
import type { BackupsService } from './backups.service.js';

const text = (max: number) => z.string().trim().min(1).max(max);

const TARGETS = ['service', 'slaGroup', 'namespace'] as const;
const backupBody = z
  .strictObject({
    service: serviceNameField.optional(),
    slaGroup: text(255).optional(),
    namespace: text(253).optional(),
    status: z.enum(['success', 'failed', 'partial']),
    sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    message: z.string().max(2_000).optional(),
    nodeId: nodeIdField.optional(),
    completedAt: isoInstant.optional(),
    reportId: text(200).optional(),
  })
  .superRefine((b, ctx) => {
    const given = TARGETS.filter((t) => b[t] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [given[1] ?? 'service'], message: 'exactly one of service, slaGroup, namespace' });
    }
  });

/** The backup jobs' webhook: API keys with the backup scope, the agent budget. */
export function backupsRoutes(deps: { backups: BackupsService; clock: Clock }): RouteDef[] {
  return [
    agentRoute('post', '/backup/report', 'backup', async (req, res) => {
      const body = parseInput(backupBody, req.body);
      const principal = req.principal;
      if (body.nodeId) assertNodeAccess(principal, body.nodeId);
      // A key bound to a node reports for that node's services only, named or not.
      const node = body.nodeId ?? (principal?.kind === 'apiKey' ? principal.nodeId ?? undefined : undefined);
      const target = body.service !== undefined ? { service: body.service } : body.slaGroup !== undefined ? { slaGroup: body.slaGroup } : { namespace: body.namespace! };
      const answer = await deps.backups.recordBackup(
        {
          target,
          nodeId: node,
          status: body.status,
          sizeBytes: body.sizeBytes,
          message: body.message,
          // A job may report long after it ran; never ahead of the clock.
          completedAt: withinWindow(body.completedAt, deps.clock.now(), 'completedAt', { maxAheadMs: 60_000 }),
          reportId: body.reportId,
        },
        // Deliveries are the same when the same key sent the same body, whatever defaults filled in.
        `${principal?.kind === 'apiKey' ? principal.keyId : 'anonymous'}\n${JSON.stringify(req.body)}`,
        requestActor(req),
      );
      res.json(answer);
    }),
  ];
}
