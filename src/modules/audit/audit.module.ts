import { defineScheduledJob } from '../../infra/jobs.js';
import { defineModule } from '../module.js';
import { AuditResolver, type AuditServices } from './audit.resolver.js';
import { auditRoutes } from './audit.routes.js';
import { createAuditService } from './audit.service.js';

/**
 * The audit log: read, exported, verified and pruned here. It is written by every module that
 * changes something, through `deps.audit` (infra/audit-recorder.ts), in the transaction of the change.
 */
export const auditModule = defineModule<AuditServices>({
  name: 'audit',
  resolvers: [AuditResolver],
  create: ({ db, pool, clock, config, licenses }) => {
    const audit = createAuditService({ db, pool, clock });
    const services: AuditServices = {
      audit,
      // Reading (auditLog, verifyAuditChain, GET /api/v1/audit) needs the `audit` plugin and passes
      // here only; writing never does: the log is always written.
      assertReadable: () => licenses.require('audit'),
    };
    return {
      services,
      routes: [{ mount: '/api/v1', routes: auditRoutes(services) }],
      jobs: [
        defineScheduledJob({ name: 'audit.prune', queue: 'audit', everyMs: 86_400_000, handler: () => audit.prune(config.AUDIT_RETENTION_DAYS), keep: 10 }),
      ],
    };
  },
});
