import { z } from 'zod';
import { assertNodeAccess } from '../../auth/guards.js';
import { sendData } from '../../http/envelope.js';
import { agentRoute, requestActor, type RouteDef } from '../../http/routes.js';
import { BACKUP_ID } from '../../lib/backups.js';
import { AppError } from '../../lib/errors.js';
import { MAX_LIMIT } from '../../lib/pagination.js';
import { isoInstant, parseInput, withinWindow } from '../../http/validate.js';
import type { Clock } from '../../infra/clock.js';
import { nodeIdField, serviceNameField } from '../sla/sla.records.js';
import { BACKUP_SORTS, type BackupRecord, type BackupRuns } from './backups.runs.js';
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
    durationSeconds: z.number().int().min(0).max(604_800).optional(),
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

/** Globs only: a pattern is matched against paths, never used to name a file. */
const globField = z.string().min(1).max(500);

export const createBackupBody = z.strictObject({
  type: z.enum(['full', 'incremental']),
  compression: z.number().int().min(0).max(9).default(6),
  exclude: z.array(globField).max(100).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  serviceId: z.uuid().optional(),
});

const verifyBody = z.strictObject({ deep: z.boolean().default(false) });

const restoreBody = z.strictObject({
  // Only a directory inside BACKUP_RESTORE_DIR is accepted; the service checks it against the disk.
  target: z
    .string()
    .min(1)
    .max(4_096)
    .refine((t) => t.startsWith('/'), 'an absolute path')
    .optional(),
  overwrite: z.boolean().default(false),
  verify: z.boolean().default(true),
});

const listQuery = z.strictObject({
  type: z.enum(['full', 'incremental', 'all']).optional(),
  status: z.enum(['pending', 'running', 'completed', 'failed']).optional(),
  serviceId: z.uuid().optional(),
  page: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
  sort: z.enum(BACKUP_SORTS).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});

const deleteQuery = z.strictObject({ keepMetadata: z.enum(['true', 'false']).optional() });

/** An id that cannot be a backup's is a 404 without a query. */
function idOf(raw: unknown): string {
  const id = String(raw);
  if (!BACKUP_ID.test(id)) throw new AppError('NOT_FOUND', `no backup ${id}`, { id });
  return id;
}

/** A list item as the seed shows it, with the chain and the service. */
const listItem = (b: BackupRecord) => ({
  id: b.id,
  type: b.type,
  createdAt: b.createdAt,
  completedAt: b.completedAt,
  size: b.stats?.compressedSize ?? null,
  fileCount: b.stats?.fileCount ?? null,
  status: b.status,
  parentId: b.parentId,
  serviceId: b.serviceId,
});

/** Seed 000's Backup API: reads for viewers; writes for operators, on the backupOps budget (5/min). */
export function backupApiRoutes(runs: BackupRuns): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/backups',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const q = parseInput(listQuery, req.query, 'query');
        const page = await runs.list({ type: q.type === 'all' ? undefined : q.type, status: q.status, serviceId: q.serviceId }, q);
        sendData(res, page.items.map(listItem), 200, { pagination: page.pageInfo });
      },
    },
    { method: 'get', path: '/backups/stats', access: 'VIEWER', rateLimit: 'standard', handler: async (_req, res) => sendData(res, await runs.stats()) },
    { method: 'get', path: '/backups/:id', access: 'VIEWER', rateLimit: 'standard', handler: async (req, res) => sendData(res, await runs.get(idOf(req.params.id))) },
    {
      method: 'post',
      path: '/backups',
      access: 'OPERATOR',
      rateLimit: 'backupOps',
      handler: async (req, res) => {
        const body = parseInput(createBackupBody, req.body);
        const { backup, finished } = await runs.createAndWait(body, requestActor(req));
        if (!finished) res.setHeader('Location', `/api/v1/backups/${backup.id}`);
        sendData(res, backup, finished ? 201 : 202);
      },
    },
    {
      method: 'post',
      path: '/backups/:id/verify',
      access: 'OPERATOR',
      rateLimit: 'backupOps',
      handler: async (req, res) => {
        const id = idOf(req.params.id);
        // A bodiless POST is a request with every default.
        const body = parseInput(verifyBody, req.body ?? {});
        sendData(res, await runs.verify(id, body.deep));
      },
    },
    {
      method: 'post',
      path: '/backups/:id/restore',
      access: 'OPERATOR',
      rateLimit: 'backupOps',
      handler: async (req, res) => {
        const id = idOf(req.params.id);
        const body = parseInput(restoreBody, req.body ?? {});
        sendData(res, await runs.restore(id, body, requestActor(req)));
      },
    },
    {
      method: 'delete',
      path: '/backups/:id',
      access: 'OPERATOR',
      rateLimit: 'backupOps',
      handler: async (req, res) => {
        const id = idOf(req.params.id);
        const q = parseInput(deleteQuery, req.query, 'query');
        await runs.remove(id, q.keepMetadata === 'true', requestActor(req));
        res.status(204).end();
      },
    },
  ];
}

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
          durationSeconds: body.durationSeconds,
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
