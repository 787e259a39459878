import type { Config } from '../../config.js';
import { defineScheduledJob } from '../../infra/jobs.js';
import type { SlaAlerts } from './sla.alerts.js';
import type { Rollups } from './sla.rollups.js';
import type { FleetService } from './sla.fleet.js';

const QUEUE = 'sla';

/**
 * The fleet's scheduled work. Each job is a single set-based statement that only
 * touches rows whose state must change, so two workers running it at once, or a
 * retry, change nothing twice.
 */
export function fleetJobs(fleet: FleetService, alerts: SlaAlerts, rollups: Rollups, config: Pick<Config, 'FLEET_SWEEP_SECONDS' | 'REPORT_REPLAY_HOURS'>) {
  return {
    // Every minute: a closed day is rolled up shortly after midnight, and a day a late report re-opened soon after it landed.
    materialize: defineScheduledJob({ name: 'sla.materialize', queue: QUEUE, everyMs: 60_000, handler: () => rollups.materialize() }),
    evaluateAlerts: defineScheduledJob({ name: 'sla.evaluate-alerts', queue: QUEUE, everyMs: 60_000, handler: () => alerts.evaluate() }),
    sweepStale: defineScheduledJob({ name: 'sla.sweep-stale', queue: QUEUE, everyMs: config.FLEET_SWEEP_SECONDS * 1_000, handler: () => fleet.sweepStale() }),
    pruneObservations: defineScheduledJob({
      name: 'sla.prune-observations',
      queue: QUEUE,
      everyMs: 3_600_000,
      handler: () => fleet.pruneObservations(config.REPORT_REPLAY_HOURS),
      keep: 24,
    }),
  };
}
