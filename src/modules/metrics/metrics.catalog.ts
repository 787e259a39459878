/** The built-in collectors and the metrics each produces (api.md, "Metrics"). */
export const COLLECTORS = ['system', 'process', 'postgres', 'redis', 'queues', 'api'] as const;
export type CollectorName = (typeof COLLECTORS)[number];
export const CUSTOM = 'custom';

export const METRIC_TYPES = ['gauge', 'counter', 'histogram', 'summary'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export interface MetricDef {
  name: string;
  type: MetricType;
  unit: string | null;
  description: string;
  collector: string;
}

const g = (collector: CollectorName, name: string, unit: string | null, description: string, type: MetricType = 'gauge'): MetricDef => ({ name, type, unit, description, collector });

export const BUILT_IN_METRICS: readonly MetricDef[] = [
  g('system', 'system.cpu.usage', 'percent', 'CPU busy time across all cores since the previous collection'),
  g('system', 'system.memory.used', 'bytes', 'Memory in use (total minus free)'),
  g('system', 'system.memory.usage', 'percent', 'Memory in use as a share of the total'),
  g('system', 'system.load.1m', null, 'One-minute load average'),
  g('system', 'system.uptime', 'seconds', 'Time since the host booted'),
  g('system', 'system.disk.usage', 'percent', "Used space of the data directory's filesystem"),
  g('process', 'process.memory.rss', 'bytes', 'Resident set size of the Opsgraph process'),
  g('process', 'process.heap.used', 'bytes', 'V8 heap in use'),
  g('process', 'process.eventloop.lag', 'ms', 'Mean event-loop delay since the previous collection'),
  g('process', 'process.cpu.usage', 'percent', 'CPU time of the process (user + system) as a share of one core since the previous collection'),
  g('postgres', 'postgres.connections', null, 'Connections to the database'),
  g('postgres', 'postgres.database.size', 'bytes', 'Size of the database'),
  g('postgres', 'postgres.cache.hit_ratio', 'percent', 'Blocks found in the buffer cache as a share of all blocks read'),
  g('postgres', 'postgres.transactions.rate', 'per_second', 'Commits and rollbacks per second since the previous collection'),
  g('postgres', 'postgres.deadlocks', null, 'Deadlocks detected in the database since statistics were reset', 'counter'),
  g('redis', 'redis.memory.used', 'bytes', 'Memory used by Redis'),
  g('redis', 'redis.ops.rate', 'per_second', 'Commands processed per second'),
  g('redis', 'redis.clients', null, 'Connected clients'),
  g('queues', 'queue.jobs.waiting', null, 'Jobs waiting in the queue'),
  g('queues', 'queue.jobs.active', null, 'Jobs being processed'),
  g('queues', 'queue.jobs.failed', null, 'Failed jobs kept in the queue'),
  g('queues', 'queue.jobs.delayed', null, 'Delayed jobs'),
  g('api', 'api.requests.total', null, 'Requests answered since the previous collection, per route, method and status', 'counter'),
  g('api', 'api.request.duration', 'ms', 'Mean request duration since the previous collection, per route, method and status'),
];

export const BUILT_IN_BY_NAME: ReadonlyMap<string, MetricDef> = new Map(BUILT_IN_METRICS.map((m) => [m.name, m]));
export const isCollector = (name: string): name is CollectorName => (COLLECTORS as readonly string[]).includes(name);
