import type { Response } from 'express';
import { z } from 'zod';
import { sendData } from '../../http/envelope.js';
import type { RouteDef } from '../../http/routes.js';
import { parseInput } from '../../http/validate.js';
import { csvRow } from '../../lib/csv.js';
import { MAX_LIMIT } from '../../lib/pagination.js';
import type { AuditServices } from './audit.resolver.js';
import type { AuditEntryRecord } from './audit.service.js';

const text = (max: number) => z.string().trim().min(1).max(max);

/** Unknown parameters are refused: a misspelt filter must not quietly return the whole log. */
const auditQuery = z
  .object({
    actorId: text(255).optional(),
    action: text(100).optional(),
    resourceType: text(100).optional(),
    resourceId: text(255).optional(),
    since: z.iso.datetime({ offset: true }).transform((v) => new Date(v)).optional(),
    format: z.enum(['json', 'jsonl', 'csv']).default('json'),
    page: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
    sort: z.enum(['seq', 'at']).optional(),
    order: z.enum(['asc', 'desc']).optional(),
  })
  .strict();

const CSV_COLUMNS = ['seq', 'id', 'at', 'actorType', 'actorId', 'action', 'resourceType', 'resourceId', 'ip', 'requestId', 'before', 'after', 'prevHash', 'hash'] as const;

const toJson = (e: AuditEntryRecord) => ({ ...e, at: e.at.toISOString() });

function toCsv(e: AuditEntryRecord): string {
  const cell = (c: (typeof CSV_COLUMNS)[number]) => {
    const v = e[c];
    if (c === 'before' || c === 'after') return v === null ? null : JSON.stringify(v);
    return v instanceof Date ? v.toISOString() : (v as string | null);
  };
  return csvRow(CSV_COLUMNS.map(cell));
}

/** Resolves when the socket can take more, or is gone (a client that hangs up must not park the loop). */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * `GET /api/v1/audit` (admins): the log as a page in the envelope (`format=json`), or every
 * matching entry, oldest first, as a download (`jsonl`, `csv`) streamed a batch at a time.
 * JSON lines carry each entry exactly as hashed, so a download can be verified offline.
 */
export function auditRoutes(s: AuditServices): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/audit',
      access: 'ADMIN',
      rateLimit: 'standard',
      async handler(req, res) {
        const q = parseInput(auditQuery, req.query, 'query');
        await s.assertReadable();
        const filter = { actorId: q.actorId, action: q.action, resourceType: q.resourceType, resourceId: q.resourceId, since: q.since };
        if (q.format === 'json') {
          const page = await s.audit.list(filter, { page: q.page, limit: q.limit, sort: q.sort, order: q.order });
          sendData(res, page.items.map(toJson), 200, { pagination: page.pageInfo });
          return;
        }
        const batches = s.audit.stream(filter);
        // The first batch is read before any header goes out, so a failing database still gets the error envelope.
        let next = await batches.next();
        const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
        res.status(200);
        res.setHeader('Content-Type', q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
        res.setHeader('Content-Disposition', `attachment; filename="opsgraph-audit-${stamp}.${q.format}"`);
        res.setHeader('Cache-Control', 'no-store');
        if (q.format === 'csv') res.write(csvRow(CSV_COLUMNS));
        while (!next.done && !res.destroyed) {
          const chunk = next.value.map((e) => (q.format === 'csv' ? toCsv(e) : `${JSON.stringify(toJson(e))}\n`)).join('');
          if (!res.write(chunk)) await drained(res);
          next = await batches.next();
        }
        await batches.return(undefined);
        res.end();
      },
    },
  ];
}
