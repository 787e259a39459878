import { defineModule } from '../module.js';
import { backupsJobs } from './backups.jobs.js';
import { backupsRoutes } from './backups.routes.js';
import { createBackupsService, type BackupsService } from './backups.service.js';

/** Backup reports from jobs elsewhere, each service's backup freshness, and the backup alert. */
export const backupsModule = defineModule<{ backups: BackupsService }>({
  name: 'backups',
  create({ pool, clock, outbox, logger, audit, config }) {
    const backups = createBackupsService({ pool, clock, outbox, logger, audit });
    return {
      services: { backups },
      routes: [{ mount: '/api/v1', routes: backupsRoutes({ backups, clock }) }],
      jobs: Object.values(backupsJobs(backups, config)),
    };
  },
});
