import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ApiKeys } from '../auth/apikeys.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Sessions } from '../auth/sessions.js';
import type { Config } from '../config.js';
import type { AuditRecorder } from '../infra/audit-recorder.js';
import type { LicenseService } from './licenses/licenses.service.js';
import type { SecurityLog } from '../infra/security-log.js';
import type { RateLimiter } from '../infra/ratelimit.js';
import type { LoaderProvider } from '../graphql/loaders.js';
import type { AnyLiveChannel } from '../http/channels.js';
import type { MountPoint, RouteDef } from '../http/routes.js';
import type { Clock } from '../infra/clock.js';
import type { EventBus } from '../infra/events.js';
import type { AnyJob, JobRegistry } from '../infra/jobs.js';
import type { Logger } from '../infra/logger.js';
import type { Outbox } from '../infra/outbox.js';
import type { PromExposition, PromGauge } from '../infra/prometheus.js';
import type { Database } from '../infra/prisma.js';
import type { RedisFallbacks } from '../infra/redis-fallbacks.js';
import type { ProcessRuntime } from '../infra/runtime.js';

/** What the composition root hands to every module factory; services pick the parts they use. */
export interface ModuleDeps {
  config: Config;
  db: Database;
  pool: pg.Pool;
  /** The command connection: every command gives up after REDIS_COMMAND_TIMEOUT_MS. */
  redis: Redis;
  /** For uses of Redis a request can do without: skipped while it does not answer, counted (see infra/redis-fallbacks.ts). */
  redisFallbacks: RedisFallbacks;
  /** Live fan-out to subscribers and listeners: lost while Redis is away. */
  events: EventBus;
  /**
   * Events other modules act on: `add` them inside the change's transaction (the relay publishes
   * them to `events` too), and declare the jobs they start with `on` (see infra/outbox.ts).
   */
  outbox: Pick<Outbox, 'add' | 'nudge' | 'on'>;
  /** Enqueueing; run-time schedules (`reschedule`, `setSchedule` for `managedSchedule` jobs); the queues (backlog, workers, failures, counts). */
  jobs: Pick<JobRegistry, 'enqueue' | 'waitingCounts' | 'reschedule' | 'queueHealth' | 'setSchedule' | 'queues'>;
  clock: Clock;
  logger: Logger;
  security: SecurityLog;
  /** The shared per-minute budgets (infra/ratelimit.ts), for operations GraphQL must count like their REST routes. */
  limiter: RateLimiter;
  /** Appends to the audit log inside a service's transaction (see infra/audit-recorder.ts). */
  audit: AuditRecorder;
  /** The active license; gated modules call `licenses.require(plugin)` (see LicenseGuard). */
  licenses: LicenseService;
  auth: { sessions: Sessions; apiKeys: ApiKeys; authenticator: Authenticator };
  /**
   * The services of a module listed earlier in the module list: how one module asks another
   * (tickets asks the SLA module about services and incidents) instead of reading its tables.
   */
  servicesOf<S>(module: ModuleDefinition<S>): S;
  /** This process: instance id, role (set before `onStart`), request figures, open connections. */
  runtime: ProcessRuntime;
  /** This process's metrics in Prometheus text format, with every module's `promMetrics` (infra/prometheus.ts). */
  prometheus: PromExposition;
}

/** What a module builds from its dependencies. `services` is handed to each of its resolvers' constructors. */
export interface ModuleInstance<S> {
  services: S;
  routes?: { mount: MountPoint; routes: RouteDef[] }[];
  jobs?: AnyJob[];
  /** Batched reads of this module's data, for the GraphQL links of any module (see graphql/loaders.ts). */
  loaders?: LoaderProvider[];
  /** Channels of the plain `/ws` WebSocket this module feeds from the bus (see http/channels.ts). */
  channels?: readonly AnyLiveChannel[];
  /** Gauges this module adds to `GET /metrics`, read at each scrape (see infra/prometheus.ts). */
  promMetrics?: readonly PromGauge[];
  /** Runs once when the process starts, before it serves (e.g. creating the first admin). */
  onStart?: () => Promise<void>;
  /** Runs once when the process stops, before connections close (e.g. ending a bus listener). */
  onStop?: () => Promise<void>;
}

/**
 * A domain module. Its resolver classes are known without building anything, so
 * the schema can be emitted and checked without a database or Redis.
 */
export interface ModuleDefinition<S = unknown> {
  name: string;
  resolvers?: Array<new (services: S) => object>;
  create(deps: ModuleDeps): ModuleInstance<S>;
}

// Each module has its own services type; the list of them is heterogeneous by design.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = ModuleDefinition<any>;

export const defineModule = <S>(module: ModuleDefinition<S>): ModuleDefinition<S> => module;
