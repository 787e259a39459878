import type { Config } from '../../config.js';
import { defineScheduledJob } from '../../infra/jobs.js';
import type { BackupsService } from './backups.service.js';

/** Freshness is measured in days; a minute is more than precise enough and keeps the scan rare. */
export function backupsJobs(backups: BackupsService, config: Pick<Config, 'FLEET_SWEEP_SECONDS'>) {
  return {
    freshness: defineScheduledJob({ name: 'backups.freshness', queue: 'backups', everyMs: Math.max(60, config.FLEET_SWEEP_SECONDS) * 1_000, handler: () => backups.evaluateBackups() }),
  };
}
