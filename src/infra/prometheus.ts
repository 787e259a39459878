import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import type { Logger } from './logger.js';
import type { ProcessRuntime } from './runtime.js';

/** One reading of a gauge: its labels (the gauge's `labelNames`) and its value. */
export interface PromReading {
  labels?: Record<string, string>;
  value: number;
}

/**
 * A gauge a module adds to `GET /metrics` in one line (`ModuleInstance.promMetrics`): read when
 * scraped, never cached between scrapes. A collect that fails leaves its gauge out of that scrape
 * (logged) instead of failing the whole exposition.
 */
export interface PromGauge {
  /** Prometheus name: `opsgraph_<what>`, snake case, unit last (`_seconds`, `_bytes`). */
  name: string;
  help: string;
  labelNames?: readonly string[];
  collect(): Promise<readonly PromReading[]> | readonly PromReading[];
}

export interface PromExposition {
  readonly contentType: string;
  /** The whole exposition, in Prometheus text format. */
  text(): Promise<string>;
}

export interface Prometheus extends PromExposition {
  /** Adds gauges (the modules' `promMetrics`); a name taken twice throws at start. */
  register(gauges: readonly PromGauge[]): void;
}

const PROM_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PROM_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The states of a BullMQ queue that say whether work is piling up. */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;

/**
 * This process's own metrics for Prometheus, on a registry of its own (several apps may share a
 * process): Node's default process metrics, every HTTP request's duration by route template,
 * method and status, the job queues' depths, open connections, and what the modules register.
 */
export function createPrometheus(deps: {
  runtime: ProcessRuntime;
  queues: ReadonlyMap<string, Pick<Queue, 'getJobCounts'>>;
  logger: Logger;
}): Prometheus {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Histogram({
    name: 'opsgraph_http_request_duration_seconds',
    help: 'Duration of HTTP requests, by route template (or GraphQL root field), method and status.',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  deps.runtime.requests.observe((s) => requests.observe({ route: s.route, method: s.method, status: String(s.status) }, s.ms / 1_000));

  const gauges: PromGauge[] = [
    {
      name: 'opsgraph_queue_jobs',
      help: 'Jobs in each BullMQ queue, by state.',
      labelNames: ['queue', 'state'],
      collect: async () =>
        (
          await Promise.all(
            [...deps.queues].map(async ([queue, q]) => {
              const counts = await q.getJobCounts(...QUEUE_STATES);
              return QUEUE_STATES.map((state) => ({ labels: { queue, state }, value: counts[state] ?? 0 }));
            }),
          )
        ).flat(),
    },
    {
      name: 'opsgraph_open_connections',
      help: 'HTTP requests in progress and WebSockets open on this instance.',
      labelNames: ['kind'],
      collect: () => Object.entries(deps.runtime.connections()).map(([kind, value]) => ({ labels: { kind }, value })),
    },
    {
      name: 'opsgraph_instance_info',
      help: 'Always 1: this instance and the role it runs.',
      labelNames: ['instance', 'role'],
      collect: () => [{ labels: { instance: deps.runtime.instanceId, role: deps.runtime.role ?? 'none' }, value: 1 }],
    },
  ];

  const register = (list: readonly PromGauge[]) => {
    for (const g of list) {
      if (!PROM_NAME.test(g.name) || !(g.labelNames ?? []).every((l) => PROM_LABEL.test(l))) throw new Error(`${g.name}: not a valid Prometheus metric or label name`);
      // A plain metric object rather than a prom-client Gauge: a gauge reset to no value still
      // prints 0 when it has no labels, and a failed reading must not pose as a zero.
      const metric = {
        name: g.name,
        help: g.help,
        type: 'gauge',
        aggregator: 'sum',
        async get() {
          let values: { labels: Record<string, string>; value: number }[] = [];
          try {
            values = (await g.collect()).map((r) => ({ labels: r.labels ?? {}, value: r.value }));
          } catch (err) {
            deps.logger.warn({ gauge: g.name, err: (err as Error).message }, 'a Prometheus gauge could not be read; left out of this scrape');
          }
          return { name: g.name, help: g.help, type: 'gauge', aggregator: 'sum', values };
        },
      };
      registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
    }
  };
  register(gauges);

  return {
    contentType: registry.contentType,
    register,
    text: () => registry.metrics(),
  };
}
