import { z } from 'zod';
import { defineJob, defineScheduledJob } from '../../infra/jobs.js';

/** How many runs a worker executes at once: a mutating one (they hold the deployment lock) beside health checks. */
const CONCURRENCY = 4;

export function runbookJobs(run: (runId: string) => Promise<void>, sampleConsole: { everyMs: number; record: () => Promise<number> }) {
  return {
    // The console's own figures as samples of the metrics store, so that they have a time series.
    // One run per tick across the workers; a lost tick is a gap of one interval, not retried.
    sampleConsole: defineScheduledJob({ name: 'runbooks.console-sample', queue: 'runbooks', everyMs: sampleConsole.everyMs, handler: sampleConsole.record }),
    execute: defineJob({
      name: 'runbooks.execute',
      queue: 'runbooks',
      payload: z.object({ runId: z.uuid() }),
      // One job per run, and never a retry: a failover half-done by a worker that died is not
      // something to repeat behind the operator's back (the run ends as an error; they decide).
      jobId: ({ runId }) => `runbook-${runId}`,
      options: { attempts: 1, removeOnComplete: { age: 3_600, count: 1_000 }, removeOnFail: { age: 7 * 24 * 3_600 } },
      concurrency: CONCURRENCY,
      handler: ({ runId }) => run(runId),
    }),
  };
}
