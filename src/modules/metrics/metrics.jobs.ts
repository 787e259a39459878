import { z } from 'zod';
import { defineJob, defineScheduledJob, type AnyJob } from '../../infra/jobs.js';
import type { Clock } from '../../infra/clock.js';
import { SCHEDULED, type Collectors } from './metrics.collectors.js';
import type { CollectorName } from './metrics.catalog.js';
import type { Partitions } from './metrics.partitions.js';
import type { Rollups } from './metrics.rollups.js';

export const METRICS_QUEUE = 'metrics';

export function metricsJobs(deps: { rollups: Rollups; partitions: Partitions; collectors: Collectors; clock: Clock; pruneEvents: () => Promise<number> }) {
  const collectorJobs = Object.fromEntries(
    SCHEDULED.map((name) => [
      name,
      defineJob({
        name: `metrics.collect.${name}`,
        queue: METRICS_QUEUE,
        payload: z.object({}),
        // The interval is the collector's, kept in the database and set at run time.
        managedSchedule: true,
        options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
        handler: () => deps.collectors.runScheduled(name),
      }),
    ]),
  ) as Partial<Record<CollectorName, AnyJob>> as Record<CollectorName, AnyJob>;
  return {
    collectorJobs,
    all: [
      defineScheduledJob({ name: 'metrics.rollup', queue: METRICS_QUEUE, everyMs: 1_000, handler: () => deps.rollups.run() }),
      defineScheduledJob({
        name: 'metrics.partitions',
        queue: METRICS_QUEUE,
        everyMs: 3_600_000,
        handler: async () => {
          const now = deps.clock.now();
          await deps.partitions.createAhead(now);
          const dropped = await deps.partitions.dropExpired(now);
          return { dropped, events: await deps.pruneEvents() };
        },
      }),
      ...Object.values(collectorJobs),
    ],
  };
}
