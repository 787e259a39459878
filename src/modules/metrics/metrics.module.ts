import type { Config } from '../../config.js';
import type { Clock } from '../../infra/clock.js';
import { defineModule } from '../module.js';
import { CUSTOM, type CollectorName } from './metrics.catalog.js';
import { createCollectors, type Collectors } from './metrics.collectors.js';
import { createIngest, type Ingest, type Stored } from './metrics.ingest.js';
import { metricsJobs } from './metrics.jobs.js';
import { createPartitions, type Partitions } from './metrics.partitions.js';
import { createMetricsQuery, type MetricsQuery } from './metrics.query.js';
import { apiReader, postgresReader, processReader, queuesReader, redisReader, systemReader } from './metrics.readings.js';
import { MetricsResolver } from './metrics.resolver.js';
import { createRollups, type Rollups } from './metrics.rollups.js';
import { metricsRoutes } from './metrics.routes.js';
import { toSamples, type SampleBody } from './metrics.samples.js';
import { createMetricEvents, type MetricEvents } from './metrics.service.js';

export interface MetricsServices {
  /** The read API other modules use: `series(...)` (a metric over a range, per bucket) and `latest(...)` (per series). */
  query: MetricsQuery;
  ingest: Ingest;
  collectors: Collectors;
  events: MetricEvents;
  partitions: Partitions;
  rollups: Rollups;
  clock: Clock;
  config: Config;
  /** Pushed samples, validated against the clock and stored (collector `custom`). */
  push(bodies: readonly SampleBody[], path: (i: number) => string): Promise<Stored>;
}

/** The metrics store: collectors, pushed samples and events, rollup tiers with sketches, queries and exports. */
export const metricsModule = defineModule<{ metrics: MetricsServices }>({
  name: 'metrics',
  resolvers: [MetricsResolver],
  create(deps) {
    const { pool, config, clock, logger, events, db, audit, runtime, redis, jobs } = deps;
    const partitions = createPartitions({ pool, config, logger });
    const ingest = createIngest({ pool, config, events, partitions });
    const rollups = createRollups({ pool, partitions, logger });
    const query = createMetricsQuery({ pool, config, clock });
    const metricEvents = createMetricEvents({ db, pool, clock, events, config, query });
    const processReading = processReader(() => ({ instance: runtime.instanceId, role: runtime.role ?? 'unknown' }));
    let collectorJobs: ReturnType<typeof metricsJobs>['collectorJobs'] | undefined;
    const collectors = createCollectors({
      db,
      clock,
      logger,
      audit,
      ingest,
      readers: {
        system: systemReader(config.DATA_DIR),
        process: processReading,
        postgres: postgresReader(pool),
        redis: redisReader(redis),
        queues: queuesReader(jobs.queues),
        api: apiReader(runtime.requests),
      },
      schedule: (name: CollectorName, everyMs) => jobs.setSchedule(collectorJobs![name], everyMs, {}),
    });
    const defs = metricsJobs({ rollups, partitions, collectors, clock, pruneEvents: () => metricEvents.prune() });
    collectorJobs = defs.collectorJobs;
    const metrics: MetricsServices = {
      query,
      ingest,
      collectors,
      events: metricEvents,
      partitions,
      rollups,
      clock,
      config,
      push: (bodies, path) => ingest.ingest(toSamples(bodies, clock.now(), config, path), CUSTOM),
    };
    return {
      services: { metrics },
      routes: [{ mount: '/api/v1', routes: metricsRoutes({ metrics, clock, config }) }],
      jobs: defs.all,
      async onStart() {
        const isWorker = runtime.role === 'worker' || runtime.role === 'all';
        if (isWorker) await partitions.createAhead(clock.now());
        await collectors.start(isWorker);
      },
      async onStop() {
        collectors.stop();
        processReading.stop();
      },
    };
  },
});
