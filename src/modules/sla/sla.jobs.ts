import { z } from 'zod';
import type { Config } from '../../config.js';
import { defineJob } from '../../infra/jobs.js';
import type { SlaAlerts } from './sla.alerts.js';
import type { FleetService } from './sla.service.js';

const QUEUE = 'sla';
const none = z.object({});

/**
 * The fleet's scheduled work. Each job is a single set-based statement that only
 * touches rows whose state must change, so two workers running it at once, or a
 * retry, change nothing twice.
 */
export function fleetJobs(fleet: FleetService, alerts: SlaAlerts, config: Pick<Config, 'FLEET_SWEEP_SECONDS' | 'REPORT_REPLAY_HOURS'>) {
  return {
    evaluateAlerts: defineJob({
      name: 'sla.evaluate-alerts',
      queue: QUEUE,
      payload: none,
      handler: () => alerts.evaluate(),
      schedule: { every: 60_000, payload: {} },
      options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    }),
    sweepStale: defineJob({
      name: 'sla.sweep-stale',
      queue: QUEUE,
      payload: none,
      handler: () => fleet.sweepStale(),
      schedule: { every: config.FLEET_SWEEP_SECONDS * 1_000, payload: {} },
      options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    }),
    backupFreshness: defineJob({
      name: 'sla.backup-freshness',
      queue: QUEUE,
      payload: none,
      handler: () => fleet.evaluateBackups(),
      // Freshness is measured in days; a minute is more than precise enough and keeps the scan rare.
      schedule: { every: Math.max(60, config.FLEET_SWEEP_SECONDS) * 1_000, payload: {} },
      options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    }),
    pruneObservations: defineJob({
      name: 'sla.prune-observations',
      queue: QUEUE,
      payload: none,
      handler: () => fleet.pruneObservations(config.REPORT_REPLAY_HOURS),
      schedule: { every: 3_600_000, payload: {} },
      options: { attempts: 1, removeOnComplete: { count: 24 }, removeOnFail: { count: 24 } },
    }),
  };
}
