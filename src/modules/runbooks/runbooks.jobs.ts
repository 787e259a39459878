import { z } from 'zod';
import { defineJob } from '../../infra/jobs.js';

/** How many runs a worker executes at once: a mutating one (they hold the deployment lock) beside health checks. */
const CONCURRENCY = 4;

export function runbookJobs(run: (runId: string) => Promise<void>) {
  return {
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
