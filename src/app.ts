import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { ConfigError, type Config } from './config.js';
import { systemClock, type Clock } from './infra/clock.js';
import { createEventBus, type EventBusHandle } from './infra/events.js';
import { JobRegistry } from './infra/jobs.js';
import { createLogger, type Logger } from './infra/logger.js';
import { createOutbox, type Outbox } from './infra/outbox.js';
import { createDatabase, type DatabaseHandle } from './infra/prisma.js';
import { closeRedis, createRedis } from './infra/redis.js';
import { createRedisFallbacks } from './infra/redis-fallbacks.js';
import { createProcessRuntime, PROCESS_ROLES, type ProcessRole } from './infra/runtime.js';
import { createPrometheus } from './infra/prometheus.js';
import { buildOpsSchema } from './graphql/schema.js';
import { createGraphQLServer, GRAPHQL_PATH, GRAPHQL_WS_PATH, type GraphQLServer } from './graphql/server.js';
import { createLoaderRegistry } from './graphql/loaders.js';
import { createHttpApp } from './http/app.js';
import { CHANNELS_PATH, createChannelServer, type ChannelServer } from './http/channels.js';
import { routeUpgrades } from './http/upgrade.js';
import { answerClientError } from './http/envelope.js';
import { type GuardDeps, type RouteDef } from './http/routes.js';
import { ADMIN_LOGIN_PATH, adminSessionRouter } from './http/admin-session.js';
import { createApiKeys } from './auth/apikeys.js';
import { createAuthenticator } from './auth/authenticator.js';
import { resolveJwtSecret } from './auth/secret.js';
import { createSessions } from './auth/sessions.js';
import { createAccessTokens } from './auth/tokens.js';
import { createRateLimiter } from './infra/ratelimit.js';
import { createSecurityLog } from './infra/security-log.js';
import { createAuditRecorder } from './infra/audit-recorder.js';
import { alertsModule } from './modules/alerts/alerts.module.js';
import { auditModule } from './modules/audit/audit.module.js';
import { backupsModule } from './modules/backups/backups.module.js';
import { metricsModule } from './modules/metrics/metrics.module.js';
import { parsePublicKeys } from './lib/license-keys.js';
import { licensesModule } from './modules/licenses/licenses.module.js';
import { createLicenseService } from './modules/licenses/licenses.service.js';
import { runbooksModule } from './modules/runbooks/runbooks.module.js';
import { ticketsModule } from './modules/tickets/tickets.module.js';
import type { AnyModule, ModuleDefinition, ModuleDeps, ModuleInstance } from './modules/module.js';
import { healthModule } from './modules/health/health.module.js';
import { eventsModule } from './modules/events/events.module.js';
import { securityModule } from './modules/security/security.module.js';
import { slaModule } from './modules/sla/sla.module.js';
import { usersModule } from './modules/users/users.module.js';
import { liveModule } from './modules/live/live.module.js';
import { prometheusModule } from './modules/prometheus/prometheus.module.js';

/** The module list: adding a domain is one module folder and one line here. */
export const modules: readonly AnyModule[] = [healthModule, eventsModule, usersModule, securityModule, licensesModule, slaModule, backupsModule, metricsModule, ticketsModule, alertsModule, auditModule, runbooksModule, liveModule, prometheusModule];

export type Role = ProcessRole;
export const ROLES = PROCESS_ROLES;

/** What a graceful stop drained, for the log line that ends a process. */
export interface StopSummary {
  ms: number;
  inFlightRequests: number;
  /** Requests still running at the deadline, whose connections were cut. */
  requestsCut: boolean;
  webSockets: number;
  workers: number;
  /** Workers whose jobs did not finish in time. */
  jobsCut: boolean;
}

export interface AppOptions {
  clock?: Clock;
  logger?: Logger;
  /** Another module list than Opsgraph's own (an embedding, or the benchmarks' trivial schema). */
  modules?: readonly AnyModule[];
}

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly db: DatabaseHandle;
  readonly events: EventBusHandle;
  readonly jobs: JobRegistry;
  /** Events other modules act on, written with the change and relayed (infra/outbox.ts). */
  readonly outbox: Outbox;
  readonly schema: GraphQLSchema;
  readonly auth: ModuleDeps['auth'];
  readonly licenses: ModuleDeps['licenses'];
  /** This process: instance id, role, request figures, open connections. */
  readonly runtime: ModuleDeps['runtime'];
  /** Every REST route of every module, as declared (access, rate-limit class). */
  readonly routes: readonly { mount: string; routes: readonly RouteDef[] }[];
  /** Starts the role; resolves with the HTTP base URL for API roles. */
  start(role: Role): Promise<{ url?: string }>;
  /** Graceful stop: stop accepting, drain HTTP, close WebSockets, let workers finish, close connections. */
  stop(): Promise<StopSummary>;
}

/** The composition root: builds infrastructure once and hands it to every module. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config);
  const clock = options.clock ?? systemClock;
  const db = createDatabase(config, logger);
  // Every command of a request gives up after REDIS_COMMAND_TIMEOUT_MS; the blocking connections have no timeout.
  const redis = createRedis(config.REDIS_URL, 'command', logger, `${config.REDIS_PREFIX}:command`, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
  const redisFallbacks = createRedisFallbacks(logger, { timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
  const blocking: Redis[] = [];
  const blockingRedis = (name: string) => {
    const r = createRedis(config.REDIS_URL, 'blocking', logger, `${config.REDIS_PREFIX}:${name}`);
    blocking.push(r);
    return r;
  };
  const events = createEventBus({ publisher: redis, subscriber: blockingRedis('events'), prefix: config.REDIS_PREFIX, clock, logger, fallbacks: redisFallbacks });
  const jobs = new JobRegistry({ connection: redis, workerConnection: blockingRedis, prefix: `${config.REDIS_PREFIX}:bull`, logger });
  // The relay enqueues and publishes on the command connection: while it is down passes are skipped,
  // and when it is back the rows written meanwhile go out at once, not at the next tick.
  const outbox = createOutbox({ pool: db.pool, events, jobs, logger, ready: () => redis.status === 'ready' });
  redis.on('ready', () => outbox.nudge());

  const prisma = db.prisma;
  const security = createSecurityLog({ db: prisma, redis, prefix: config.REDIS_PREFIX, clock, logger, fallbacks: redisFallbacks });
  // Written by every module that changes something, so built here like the security log.
  const audit = createAuditRecorder({ clock });
  const limiter = createRateLimiter({ redis, prefix: config.REDIS_PREFIX, clock, fallbacks: redisFallbacks });
  const jwtSecret = await resolveJwtSecret(config, prisma);
  const tokens = createAccessTokens({
    secret: jwtSecret,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    clock,
  });
  // The Bull Board sign-in's cookie: signed like access tokens, for an audience of its own.
  const adminTokens = createAccessTokens({
    secret: jwtSecret,
    issuer: config.JWT_ISSUER,
    audience: `${config.JWT_AUDIENCE}:admin-session`,
    ttlSeconds: config.ADMIN_SESSION_TTL_SECONDS,
    clock,
  });
  const apiKeys = createApiKeys({ db: prisma, redis, prefix: config.REDIS_PREFIX, clock, logger, security, audit, fallbacks: redisFallbacks });
  const sessions = createSessions({ db: prisma, redis, fallbacks: redisFallbacks, prefix: config.REDIS_PREFIX, clock, logger, tokens, adminTokens, security, audit, limiter, config });
  const authenticator = createAuthenticator({ db: prisma, tokens, apiKeys });
  const guard: GuardDeps = { authenticator, limiter, security, config };
  // Cross-cutting like security: every gated module asks it, so it is built here, once.
  const licenses = createLicenseService({
    db: prisma,
    clock,
    events,
    outbox,
    logger,
    keys: parsePublicKeys(config.LICENSE_PUBLIC_KEY),
    audit,
    cacheMs: config.LICENSE_CACHE_SECONDS * 1_000,
    warningDays: config.LICENSE_EXPIRY_WARNING_DAYS,
  });

  const moduleList = options.modules ?? modules;
  const built = new Map<string, ModuleInstance<unknown>>();
  const servicesOf = <S>(module: ModuleDefinition<S>): S => {
    const instance = built.get(module.name);
    if (!instance) throw new Error(`module ${module.name} must come before the modules that use it in the module list`);
    return instance.services as S;
  };
  const runtime = createProcessRuntime();
  const prometheus = createPrometheus({ runtime, queues: jobs.queues, logger });
  const deps: ModuleDeps = { config, db: prisma, pool: db.pool, redis, redisFallbacks, events, outbox, jobs, clock, logger, security, limiter, audit, licenses, auth: { sessions, apiKeys, authenticator }, servicesOf, runtime, prometheus };
  try {
    for (const m of moduleList) built.set(m.name, m.create(deps));
  } catch (err) {
    // A module that cannot be built (a bad runbooks file) stops the start: close what is already open.
    await Promise.all([closeRedis(redis), ...blocking.map(closeRedis), db.close()]);
    throw err;
  }
  jobs.register([...outbox.jobs, ...[...built.values()].flatMap((m) => m.jobs ?? [])]);
  prometheus.register([...built.values()].flatMap((m) => m.promMetrics ?? []));
  const channels = [...built.values()].flatMap((m) => m.channels ?? []);
  const routes = [...built.values()].flatMap((m) => m.routes ?? []);
  const loaders = createLoaderRegistry([...built.values()].flatMap((m) => m.loaders ?? []));
  const schema = await buildOpsSchema(moduleList, { services: new Map([...built].map(([name, m]) => [name, m.services])), events });

  let http: Server | undefined;
  let graphql: GraphQLServer | undefined;
  let channelServer: ChannelServer | undefined;
  let stopping: Promise<StopSummary> | undefined;
  let activeRequests = 0;

  async function startApi(): Promise<string> {
    await events.start();
    graphql = await createGraphQLServer({ schema, events, logger, config, authenticator, security, limiter, clock, loaders, runtime });
    channelServer = createChannelServer({
      channels,
      events,
      authenticator,
      security,
      clock,
      logger,
      runtime,
      limits: { maxQueued: config.WS_SEND_QUEUE_MAX, maxBufferedBytes: config.WS_SEND_BUFFER_BYTES, authTimeoutMs: 5_000, maxPayload: 16 * 1024, heartbeatMs: 30_000 },
    });
    // Subscribed to the bus before the port opens: a socket is fed from its first subscribe.
    channelServer.start();
    const extras = [];
    if (config.BULL_BOARD_ENABLED) {
      const board = new ExpressAdapter();
      board.setBasePath('/admin/queues');
      createBullBoard({
        queues: [...jobs.queues.values()].map((q) => new BullMQAdapter(q)),
        serverAdapter: board,
        options: { uiConfig: { miscLinks: [{ text: 'Sign out', url: ADMIN_LOGIN_PATH }] } },
      });
      // Admins only: signed in at /admin/login (a session cookie), or with an admin's bearer token.
      extras.push({ path: '/admin', handlers: [adminSessionRouter({ guard, sessions, config }, { path: '/queues', handler: board.getRouter() })] });
    }
    const app = createHttpApp({
      config,
      logger,
      requests: runtime.requests,
      guard,
      routes,
      graphql: { path: GRAPHQL_PATH, handler: graphql.handler },
      extras,
    });
    http = createServer(app);
    http.on('clientError', answerClientError);
    // Counted so that shutdown can say what it drained.
    http.on('request', (_req, res) => {
      activeRequests++;
      const closed = runtime.open('http');
      res.once('close', () => {
        activeRequests--;
        closed();
      });
    });
    // Slightly above a typical load balancer's idle timeout, so the balancer closes first.
    http.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      http!.once('error', (err: NodeJS.ErrnoException) => {
        // What a person can fix gets one line, not a stack (see main.ts).
        if (err.code === 'EADDRINUSE') reject(new ConfigError(`port ${config.PORT} is in use on ${config.HOST}; set PORT or stop the other process`));
        else if (err.code === 'EACCES') reject(new ConfigError(`port ${config.PORT} needs privileges; set PORT to 1024 or above`));
        else reject(err);
      });
      http!.listen(config.PORT, config.HOST, () => resolve());
    });
    // Attached once listening: a port in use is then one clear error, not also the WebSocket servers'.
    routeUpgrades(http, { [GRAPHQL_WS_PATH]: graphql.webSocketServer(), [CHANNELS_PATH]: channelServer.wss });
    const { port } = http.address() as AddressInfo;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
    runtime.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return runtime.url;
  }

  /** Stops accepting, lets in-flight requests finish until `deadline`, then cuts what is left. */
  async function drainHttp(deadline: number): Promise<{ inFlight: number; cut: boolean }> {
    if (!http) return { inFlight: 0, cut: false };
    const server = http;
    const inFlight = activeRequests;
    let cut = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Keep-alive sockets that go idle after their in-flight request are closed as they free up.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const timer = setTimeout(() => {
      cut = true;
      server.closeAllConnections();
    }, Math.max(0, deadline - Date.now()));
    await closed;
    clearInterval(sweep);
    clearTimeout(timer);
    return { inFlight, cut };
  }

  return {
    config,
    logger,
    clock,
    db,
    events,
    jobs,
    outbox,
    schema,
    auth: deps.auth,
    licenses,
    runtime,
    routes,
    async start(role) {
      let url: string | undefined;
      if (role === 'worker' || role === 'all') jobs.assertRunnable();
      runtime.role = role;
      licenses.start();
      // Every consumer registered itself while its module was built: the relay may run from now on.
      outbox.start();
      for (const m of built.values()) await m.onStart?.();
      if (role === 'api' || role === 'all') url = await startApi();
      if (role === 'worker' || role === 'all') await jobs.startWorkers();
      return { url };
    },
    stop() {
      stopping ??= (async () => {
        const started = Date.now();
        const deadline = started + config.SHUTDOWN_TIMEOUT_MS;
        await Promise.all([licenses.stop(), ...[...built.values()].map((m) => m.onStop?.())]);
        const [[http, webSockets], workers] = await Promise.all([
          Promise.all([drainHttp(deadline - 1_000), Promise.all([graphql?.closeWebSockets() ?? 0, channelServer?.close() ?? 0]).then(([g, c]) => g + c)]).then(
            async (r) => (await graphql?.stop(), r),
          ),
          jobs.close(Math.max(1_000, deadline - Date.now() - 1_000)),
        ]);
        // After the last request that could nudge it; rows it did not take stay for the next process.
        await outbox.stop();
        await events.close();
        await Promise.all([closeRedis(redis), ...blocking.map(closeRedis), db.close()]);
        return { ms: Date.now() - started, inFlightRequests: http.inFlight, requestsCut: http.cut, webSockets, workers: workers.workers, jobsCut: workers.forced };
      })();
      return stopping;
    },
  };
}
