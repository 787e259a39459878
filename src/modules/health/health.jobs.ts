import { defineScheduledJob, type JobRegistry } from '../../infra/jobs.js';
import type { HealthChecks } from './health.checks.js';
import type { HealthSettings } from './health.config.js';

/**
 * `health.check` runs the enabled systems every `interval`. The interval is a setting admins change
 * at run time: a change moves the schedule at once (health.config.ts), and each run moves it too
 * when it differs (a worker that started with the environment's default, a change made while Redis
 * was away), so every process follows the stored interval without a restart.
 */
export function healthJobs(deps: { checks: HealthChecks; settings: Pick<HealthSettings, 'get'>; jobs: Pick<JobRegistry, 'reschedule'>; intervalSeconds: number }) {
  const defs = {
    check: defineScheduledJob({
      name: 'health.check',
      queue: 'health',
      everyMs: deps.intervalSeconds * 1_000,
      handler: async () => {
        const { interval } = await deps.settings.get();
        await deps.jobs.reschedule(defs.check, interval * 1_000);
        const run = await deps.checks.scheduledRun();
        return { overallStatus: run.overallStatus, summary: run.summary };
      },
    }),
    prune: defineScheduledJob({
      name: 'health.prune',
      queue: 'health',
      everyMs: 3_600_000,
      handler: async () => ({ deleted: await deps.checks.prune() }),
    }),
  };
  return defs;
}
