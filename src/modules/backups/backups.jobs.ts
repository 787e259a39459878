import { z } from 'zod';
import type { Config } from '../../config.js';
import { defineJob, defineScheduledJob } from '../../infra/jobs.js';
import { BACKUP_ID } from '../../lib/backups.js';
import type { BackupRuns } from './backups.runs.js';
import type { BackupsService } from './backups.service.js';

/** Freshness is measured in days; a minute is more than precise enough and keeps the scan rare. */
export function backupsJobs(backups: BackupsService, runs: BackupRuns, config: Pick<Config, 'FLEET_SWEEP_SECONDS' | 'BACKUP_SCHEDULE' | 'BACKUP_SCHEDULE_TYPE'>) {
  return {
    freshness: defineScheduledJob({ name: 'backups.freshness', queue: 'backups', everyMs: Math.max(60, config.FLEET_SWEEP_SECONDS) * 1_000, handler: () => backups.evaluateBackups() }),
    // One job per record (its id is the job id), on the backups queue's single worker per process; the
    // run lock makes it one at a time across processes. Not retried: a failed run is recorded failed.
    run: defineJob({
      name: 'backups.run',
      queue: 'backups',
      payload: z.object({ backupId: z.string().regex(BACKUP_ID) }),
      jobId: (p) => `backup-run-${p.backupId}`,
      handler: (p) => runs.run(p.backupId),
      options: { attempts: 1, removeOnComplete: { age: 86_400, count: 1_000 } },
    }),
    ...(config.BACKUP_SCHEDULE
      ? {
          scheduled: defineJob({
            name: 'backups.scheduled',
            queue: 'backups',
            payload: z.object({}),
            // A job scheduler's cron pattern (the server's time zone): one job per tick however many workers run.
            schedule: { pattern: config.BACKUP_SCHEDULE, payload: {} },
            handler: () => runs.scheduled(config.BACKUP_SCHEDULE_TYPE),
            options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
          }),
        }
      : {}),
  };
}
