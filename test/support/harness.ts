import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import { createApp, type App, type Role } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/infra/clock.js';
import type { EventDefinition, EventInput, EventPayload } from '../../src/infra/events.js';
import { quoteIdent } from '../../src/infra/migrations.js';
import { LICENSE_UPDATED } from '../../src/modules/licenses/licenses.events.js';
import { METRIC_SAMPLED } from '../../src/modules/metrics/metrics.events.js';
import { SLA_ALERT, SLA_INCIDENT, STATUS_CHANGED } from '../../src/modules/sla/sla.events.js';
import { TICKET_CREATED, TICKET_DELETED, TICKET_UPDATED } from '../../src/modules/tickets/tickets.events.js';
import { CreateUserDocument, LoginDocument } from '../generated/graphql.js';
import { adminUrl, baseDatabaseUrl, REDIS_URL, TEMPLATE_DB, TEST_PREFIX } from './env.js';
import { TEST_LICENSE_KEYS } from './license.js';

/**
 * One isolated world per test file: its own database cloned from the migrated
 * template and its own Redis prefix, so files run in parallel without seeing
 * each other's rows, jobs or events.
 */
/** The first admin every test app is started with. */
export const ADMIN = { email: 'admin@opsgraph.test', password: 'correct-horse-battery' };

export interface TestEnv {
  databaseUrl: string;
  prefix: string;
  config(overrides?: Record<string, string>): Config;
  startApp(options?: { role?: Role; clock?: Clock; overrides?: Record<string, string> }): Promise<TestApp>;
  cleanup(): Promise<void>;
}

export interface TestApp {
  app: App;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export async function createTestEnv(): Promise<TestEnv> {
  const id = randomBytes(5).toString('hex');
  const database = `${TEST_PREFIX}_${id}`;
  const prefix = `${TEST_PREFIX}_${id}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${quoteIdent(database)} TEMPLATE ${quoteIdent(TEMPLATE_DB)}`));
  const databaseUrl = baseDatabaseUrl(database);
  const apps: TestApp[] = [];

  const config = (overrides: Record<string, string> = {}) =>
    loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATABASE_POOL_MAX: '4',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Tests log in far more often than a person; files that test the limits set their own.
      RATE_LIMIT_ANONYMOUS: '10000',
      // Keys signed by this process's test pair verify (test/support/license.ts); none is active until a test activates one.
      LICENSE_PUBLIC_KEY: TEST_LICENSE_KEYS.publicKeyPem,
      ...overrides,
    });

  return {
    databaseUrl,
    prefix,
    config,
    async startApp({ role = 'all', clock, overrides } = {}) {
      const app = await createApp(config(overrides), { clock });
      const { url } = await app.start(role);
      const base = url ?? '';
      const started: TestApp = { app, url: base, wsUrl: `${base.replace(/^http/, 'ws')}/graphql/ws`, stop: async () => void (await app.stop()) };
      apps.push(started);
      return started;
    },
    async cleanup() {
      await Promise.all(apps.map((a) => a.stop()));
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
      await deleteRedisKeys(`${prefix}:*`);
    },
  };
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface GqlResponse<T> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** POSTs a typed document to `/graphql` the way a browser client would. */
export async function gql<T, V>(
  url: string,
  document: TypedDocumentNode<T, V>,
  variables?: V,
  headers: Record<string, string> = {},
): Promise<GqlResponse<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await res.json()) as Omit<GqlResponse<T>, 'status' | 'headers'>;
  return { status: res.status, headers: res.headers, ...body };
}

export async function login(url: string, email: string, password: string): Promise<{ token: string; refreshToken: string; userId: string }> {
  const r = await gql(url, LoginDocument, { email, password });
  if (!r.data) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
  return { token: r.data.login.token, refreshToken: r.data.login.refreshToken, userId: r.data.login.user.id };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

// Keyed by the app itself, not its URL: files share this module (isolate: false) and a port may come back.
const roleTokens = new WeakMap<TestApp, Map<string, Promise<string>>>();
/** An access token of a user with `role`, created once per app through the admin API. */
export function tokenFor(api: TestApp, role: 'VIEWER' | 'OPERATOR' | 'ADMIN'): Promise<string> {
  const tokens = roleTokens.get(api) ?? new Map<string, Promise<string>>();
  roleTokens.set(api, tokens);
  const key = role;
  let token = tokens.get(key);
  if (!token) {
    token = (async () => {
      const admin = await login(api.url, ADMIN.email, ADMIN.password);
      if (role === 'ADMIN') return admin.token;
      const email = `${role.toLowerCase()}@opsgraph.test`;
      const created = await gql(api.url, CreateUserDocument, { input: { email, password: 'a-long-enough-password', role } }, bearer(admin.token));
      if (created.errors) throw new Error(JSON.stringify(created.errors));
      return (await login(api.url, email, 'a-long-enough-password')).token;
    })();
    tokens.set(key, token);
  }
  return token;
}

export function wsClient(wsUrl: string, connectionParams?: Record<string, unknown>): Client {
  // The server going away at the end of a test is expected; errors that matter reach the subscribers.
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: false, onNonLazyError: () => undefined });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 5_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/*
 * Waiting for readiness, not for time.
 *
 * graphql-ws acknowledges the connection, not a subscription: a subscription is live once the
 * server has run its `subscribe` and the event bus hands it events, which the client cannot see.
 * The signal is a probe: a real event, published through the app's own bus, that the subscription
 * delivers. Probes carry PROBE_TAG in a field every subscription selects (an id, a message, a
 * name), and the helpers below leave them out of what they collect, whichever subscription they
 * reach (a probe still on its way when its subscription went live may reach the next one).
 *
 * The bus is one Redis channel: Redis delivers in the order it ran the PUBLISHes, each instance
 * hands an event to its subscribers in that order, and a subscription sends its results in order.
 * So once a probe published after X has come through a subscription, X has too, if it was for it.
 */

/** Marks probe events; nothing real carries it. */
export const PROBE_TAG = `opsgraph-probe-${randomBytes(4).toString('hex')}`;
let probes = 0;
const nextProbeTag = () => `${PROBE_TAG}-${++probes}`;

/** Whether a subscription's result (its data) is a probe rather than a real event. */
export const isProbe = (data: unknown, tag = PROBE_TAG): boolean => data != null && JSON.stringify(data).includes(tag);

/** Publishes one event, carrying `tag`, that the subscription being probed delivers. */
export type Probe = (tag: string) => Promise<unknown>;

/** A probe publishing `def` through `api`'s event bus, with the payload `payload(tag)` builds (see `probeOf`). */
export function busProbe<D extends EventDefinition>(api: TestApp, def: D, payload: (tag: string) => EventInput<D>): Probe {
  return (tag) => api.app.events.publish(def, payload(tag));
}

const probeTicket = (tag: string) => ({
  id: tag,
  title: tag,
  description: null,
  status: 'OPEN' as const,
  priority: 'LOW' as const,
  assigneeId: null,
  createdById: null,
  serviceId: null,
  incidentId: null,
  alertIds: [],
  automatic: false,
  createdAt: new Date(),
  updatedAt: new Date(),
  resolvedAt: null,
  closedAt: null,
  comments: [],
});

/**
 * Probes for the subscriptions of the schema, one per event they deliver. Their payloads touch no
 * row: the only listeners inside the app are the license cache (a probe license:updated drops it,
 * and it is read again) and the automatic tickets (a probe sla:incident has no SLA group and an
 * id that is no UUID, so nothing is enqueued for it).
 */
export const probeOf = {
  ticketCreated: (api: TestApp) => busProbe(api, TICKET_CREATED, probeTicket),
  ticketUpdated: (api: TestApp) => busProbe(api, TICKET_UPDATED, probeTicket),
  ticketDeleted: (api: TestApp) => busProbe(api, TICKET_DELETED, probeTicket),
  slaAlert: (api: TestApp) =>
    busProbe(api, SLA_ALERT, (tag) => ({ scope: 'SERVICE' as const, serviceId: null, slaGroupId: null, status: tag, message: tag, at: new Date() })),
  slaIncident: (api: TestApp) =>
    busProbe(api, SLA_INCIDENT, (tag) => ({ action: 'OPENED' as const, incident: { id: tag, serviceId: tag, slaGroupId: null, startedAt: new Date(), endedAt: null } })),
  licenseUpdated: (api: TestApp) =>
    busProbe(api, LICENSE_UPDATED, (tag) => ({
      action: 'ACTIVATED' as const,
      message: tag,
      license: { customer: tag, plugins: [], activePlugins: [], issuedAt: new Date(), expiresAt: new Date(), status: 'ACTIVE' as const, maxServices: null, activatedAt: new Date() },
    })),
  /** A pushed sample named by the tag; a filter by collector must admit `collector` (default `custom`). */
  metricUpdated: (api: TestApp, collector = 'custom') =>
    busProbe(api, METRIC_SAMPLED, (tag) => ({ samples: [{ name: tag, value: 1, timestamp: new Date(), labels: {}, collector }] })),
  /** `nodeId` must be a node that exists when the subscription reads Service.node; a filter by node needs it too. */
  statusChanged: (api: TestApp, nodeId: string) =>
    busProbe(api, STATUS_CHANGED, (tag) => ({
      service: {
        id: tag,
        serviceName: tag,
        displayName: null,
        nodeId,
        namespace: null,
        status: 'OPERATIONAL' as const,
        replicas: null,
        readyReplicas: null,
        workloadType: null,
        criticality: null,
        lastSeenAt: null,
        slaGroupId: null,
        backupStatus: {
          backupExpected: false,
          lastBackupAt: null,
          lastBackupStatus: null,
          backupMaxAgeDays: 1,
          backupOverdue: false,
          lastSuccessAt: null,
          lastVerifiedAt: null,
          maxVerifiedAgeDays: null,
        },
      },
      previousStatus: null,
      status: 'OPERATIONAL' as const,
      observedAt: new Date(),
    })),
};

export interface LiveSubscription<R> {
  /** What the subscription delivered, probes left out, as `pick` made it. */
  received: R[];
  /** Results that came with errors instead of data. */
  errors: unknown[];
  /**
   * Resolves once everything published on the bus before the call has come through this
   * subscription (or was not for it): publishes one more probe and waits for that one.
   */
  sync(timeoutMs?: number): Promise<void>;
  /** Ends this subscription; the client stays open. */
  stop(): void;
}

/**
 * Subscribes and resolves once the subscription is live on the server: publishes `probe` every
 * 100 ms until one comes through. Rejects with what the server answered if it refuses the
 * subscription (an error, or a completion before anything came).
 */
export function subscribeReady<T, V, R = T>(
  client: Client,
  document: TypedDocumentNode<T, V> | string,
  variables: V | undefined,
  probe: Probe,
  options: { pick?: (data: T) => R; timeoutMs?: number } = {},
): Promise<LiveSubscription<R>> {
  const { pick = (d: T) => d as unknown as R, timeoutMs = 10_000 } = options;
  const received: R[] = [];
  const errors: unknown[] = [];
  /** The probes that came through, by tag. */
  const heard = new Set<string>();
  let ended: { error: unknown } | undefined;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const wake of [...waiters]) wake();
  };
  /** Resolves at the next result, error or completion, or after `ms`. */
  const nextArrival = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
    });
  const query = typeof document === 'string' ? document : print(document);
  const name = query.trim().split('\n')[0];
  const tagged = new RegExp(`${PROBE_TAG}-\\d+`);
  const stop = client.subscribe<T>(
    { query, variables: (variables ?? {}) as Record<string, unknown> },
    {
      next: (r) => {
        if (r.data && isProbe(r.data)) heard.add(tagged.exec(JSON.stringify(r.data))![0]);
        else if (r.data) received.push(pick(r.data));
        else errors.push(r.errors);
        notify();
      },
      error: (err) => {
        ended = { error: err };
        notify();
      },
      complete: () => {
        ended ??= { error: errors.length ? errors : new Error(`${name} completed`) };
        notify();
      },
    },
  );
  /** Publishes the probe `tag` (again every 100 ms while it does not come, if `republish`) until it comes through. */
  const untilProbe = async (tag: string, republish: boolean, ms: number) => {
    const deadline = Date.now() + ms;
    let sentAt: number | undefined;
    for (;;) {
      if (heard.has(tag)) return;
      if (ended) throw ended.error;
      const now = Date.now();
      if (now > deadline) throw new Error(`no probe came through ${name} within ${ms} ms`);
      if (sentAt === undefined || (republish && now - sentAt >= 100)) {
        await probe(tag);
        sentAt = Date.now();
        continue;
      }
      await nextArrival(Math.max(1, Math.min(deadline - now, republish ? 100 - (now - sentAt) : Infinity)));
    }
  };
  const live: LiveSubscription<R> = { received, errors, stop, sync: (ms = timeoutMs) => untilProbe(nextProbeTag(), false, ms) };
  return untilProbe(nextProbeTag(), true, timeoutMs).then(() => live);
}

export interface Listener<R> extends LiveSubscription<R> {
  client: Client;
  dispose(): Promise<void>;
}

/** A client of its own on `api`, signed in with `auth`, and one live subscription on it (see subscribeReady). */
export async function listen<T, V, R = T>(
  api: TestApp,
  auth: { authorization: string },
  document: TypedDocumentNode<T, V> | string,
  probe: Probe,
  options: { variables?: V; pick?: (data: T) => R; timeoutMs?: number } = {},
): Promise<Listener<R>> {
  const client = wsClient(api.wsUrl, { authorization: auth.authorization });
  try {
    const live = await subscribeReady(client, document, options.variables, probe, options);
    return { ...live, client, dispose: async () => void (await client.dispose()) };
  } catch (err) {
    await client.dispose();
    throw err;
  }
}

/**
 * Resolves once `queue` has nothing waiting, running or due for a retry: every job it was handed
 * has finished, and what their handlers published is on the bus. The next runs of its schedules
 * (delayed jobs of a scheduler) do not count.
 */
export async function queueIdle(api: TestApp, queue: string, timeoutMs = 10_000): Promise<void> {
  const q = api.app.jobs.queues.get(queue);
  if (!q) throw new Error(`no queue ${queue}`);
  await waitFor(async () => {
    const counts = await q.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children');
    if (Object.values(counts).some((n) => n > 0)) return false;
    return (await q.getJobs(['delayed'])).every((job) => job.repeatJobKey);
  }, timeoutMs);
}

/**
 * Listens on `api`'s own event bus from now on (the bus hands an instance's subscribers each
 * event in the order they subscribed, so everything subscribed inside the app at start hears an
 * event before this does); `heard()` resolves with the first event of `def` that `match`es.
 */
export function listenOnBus<D extends EventDefinition>(api: TestApp, def: D, match: (payload: EventPayload<D>) => boolean) {
  const events = api.app.events.subscribe([def])[Symbol.asyncIterator]();
  return {
    async heard(timeoutMs = 10_000): Promise<EventPayload<D>> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${api.url} heard no matching ${def.type} within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        for (;;) {
          const next = await Promise.race([events.next(), timeout]);
          if (next.done) throw new Error(`${api.url} stopped before it heard a matching ${def.type}`);
          if (match(next.value.payload as EventPayload<D>)) return next.value.payload as EventPayload<D>;
        }
      } finally {
        clearTimeout(timer);
        await events.return?.();
      }
    },
  };
}

/** Resolves once nothing listens on `port` of 127.0.0.1 any more: a connection there is refused. */
export async function connectionsRefused(port: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
      }),
    timeoutMs,
    20,
  );
}
