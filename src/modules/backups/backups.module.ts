import { backupPaths } from '../../config.js';
import { AppError } from '../../lib/errors.js';
import { clientKey } from '../../lib/ip.js';
import { defineModule } from '../module.js';
import { slaModule } from '../sla/sla.module.js';
import { backupsJobs } from './backups.jobs.js';
import { BackupsResolver } from './backups.resolver.js';
import { backupApiRoutes, backupsRoutes } from './backups.routes.js';
import { createBackupRuns, type BackupRuns } from './backups.runs.js';
import { createBackupsService, type BackupsService } from './backups.service.js';

/**
 * Backups: reports from jobs elsewhere, each service's backup freshness and the backup alert, and
 * the backups the server makes itself (runs on the `backups` worker, verify, restore, delete).
 */
export const backupsModule = defineModule<{ backups: BackupsService; runs: BackupRuns; backupOps: (ip: string | undefined) => Promise<void> }>({
  name: 'backups',
  resolvers: [BackupsResolver],
  create({ db, pool, clock, outbox, jobs, logger, audit, config, runtime, limiter, servicesOf }) {
    const backups = createBackupsService({ pool, clock, outbox, logger, audit });
    const { fleet } = servicesOf(slaModule);
    const runs: BackupRuns = createBackupRuns({
      db,
      pool,
      clock,
      logger,
      audit,
      outbox,
      paths: backupPaths(config),
      waitSeconds: config.BACKUP_WAIT_SECONDS,
      retentionCount: config.BACKUP_RETENTION_COUNT,
      reports: backups,
      serviceExists: (id) => fleet.serviceExists(id),
      enqueue: (backupId) => jobs.enqueue(defs.run, { backupId }),
    });
    const defs = backupsJobs(backups, runs, config);
    // The GraphQL mutations spend the REST routes' backupOps budget, in the same bucket and key
    // (the client address), so the 5 a minute hold whichever transport is used.
    const backupOps = async (ip: string | undefined) => {
      const d = await limiter.hit('backupOps', `ip:${clientKey(ip)}`, config.RATE_LIMIT_BACKUP_OPS);
      if (!d.allowed) throw new AppError('RATE_LIMITED', 'Rate limit exceeded', { limit: d.limit, window: limiter.windowSeconds, retryAfter: d.retryAfter });
    };
    return {
      services: { backups, runs, backupOps },
      routes: [{ mount: '/api/v1', routes: [...backupApiRoutes(runs), ...backupsRoutes({ backups, clock })] }],
      jobs: Object.values(defs),
      // Runs a crashed worker left behind are settled before this worker takes new ones.
      onStart: async () => {
        if (runtime.role === 'worker' || runtime.role === 'all') await runs.recover();
      },
    };
  },
});
