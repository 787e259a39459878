import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_CHANGED } from '../../src/modules/health/health.events.js';
import { HealthStatusDocument, OpsEventsDocument, RunHealthCheckDocument, UpdateHealthConfigDocument, type OpsEventsSubscription } from '../generated/graphql.js';
import { FakeClock } from '../support/fake-clock.js';
import { REDIS_URL } from '../support/env.js';
import { bearer, busProbe, createTestEnv, gql, listen, queueIdle, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

interface Check {
  id: string;
  system: string;
  status: string;
  message: string;
  metrics: Record<string, unknown>;
  timestamp: string;
  duration: number;
}
interface Run {
  overallStatus: string;
  checks: Check[];
  summary: { total: number; healthy: number; degraded: number; unhealthy: number };
  duration: number;
}

/** A port of 127.0.0.1 that nothing listens on right now (it was free a moment ago). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const listenOn = (server: Server | net.Server, port: number) => new Promise<void>((resolve, reject) => (server.once('error', reject), server.listen(port, '127.0.0.1', () => resolve())));
const closeServer = (server: Server | net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

let env: TestEnv;
let api: TestApp;
let dataDir: string;
let pgProxy: TcpProxy;
let httpPort: number;
let tcpPort: number;
const clock = new FakeClock(new Date());
type Auth = { authorization: string };
let admin: Auth;
let operator: Auth;
let viewer: Auth;

beforeAll(async () => {
  env = await createTestEnv();
  dataDir = await mkdtemp(path.join(tmpdir(), 'opsgraph-health-'));
  pgProxy = TcpProxy.forUrl(env.databaseUrl);
  await pgProxy.start();
  [httpPort, tcpPort] = await Promise.all([freePort(), freePort()]);
  api = await env.startApp({
    clock,
    overrides: {
      DATA_DIR: dataDir,
      // Two cores shared with other test files: a CPU at 100 % must not decide these verdicts.
      HEALTH_CPU_THRESHOLD: '100',
      // Only the data check's own connection goes through the proxy: cutting it leaves the app serving.
      HEALTH_DATABASE_URL: pgProxy.rewrite(env.databaseUrl),
      HEALTH_DEPENDENCIES: `web=http://127.0.0.1:${httpPort}/status,cache=tcp://127.0.0.1:${tcpPort}`,
    },
  });
  [admin, operator, viewer] = (await Promise.all([tokenFor(api, 'ADMIN'), tokenFor(api, 'OPERATOR'), tokenFor(api, 'VIEWER')])).map(bearer);
});
afterAll(async () => {
  await env.cleanup();
  await pgProxy.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function rest(app: TestApp, method: string, route: string, auth: Auth | Record<string, never>, body?: unknown) {
  const res = await fetch(`${app.url}/api/v1${route}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { success: boolean; data: any; pagination?: any; error?: { code: string; details?: { field?: string } } } };
}

async function check(app: TestApp, systems: string[], timeout?: number): Promise<Run> {
  const r = await rest(app, 'POST', '/health/check', operator, { systems, ...(timeout ? { timeout } : {}) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.data as Run;
}
const statusOf = async (app: TestApp, system: string) => (await check(app, [system])).checks.find((c) => c.system === system)!;

describe('health checks', () => {
  it('runs every system for real, in the seed shape, with metrics read from the machine', async () => {
    const run = await check(api, ['system', 'disk', 'api', 'websocket', 'data', 'service']);
    expect(run.checks.map((c) => [c.system, c.status, c.message])).toEqual(run.checks.map((c) => [c.system, 'healthy', c.message]));
    expect(run).toMatchObject({ overallStatus: 'healthy', summary: { total: 6, healthy: 6, degraded: 0, unhealthy: 0 } });
    const by = Object.fromEntries(run.checks.map((c) => [c.system, c]));
    expect(by.system!.metrics).toMatchObject({ cpu: expect.any(Number), memory: expect.any(Number), uptime: expect.any(Number) });
    expect(by.system!.message).toMatch(/^CPU: \d+%, Memory: \d+%, Uptime: /);
    expect(by.disk!.metrics).toMatchObject({ usage: expect.any(Number), path: dataDir });
    expect(by.api!.metrics).toMatchObject({ statusCode: 200, url: `${api.url}/healthz` });
    expect(by.websocket!.message).toMatch(/graphql-ws handshake and ping\/pong/);
    expect(by.data!.metrics).toMatchObject({ databaseSizeBytes: expect.any(Number), pool: { max: 4 } });
    // Every queue of the app has its worker (this app runs them all).
    expect(by.service!.metrics).toMatchObject({ queuesWithoutWorkers: [], queues: { health: { workers: 1 } } });
    expect(new Date(by.system!.timestamp).getTime()).toBe(clock.now().getTime());
  });

  it('network: an HTTP dependency that refuses connections and a TCP port nobody listens on are unhealthy, healthy once they answer', async () => {
    const down = await statusOf(api, 'network');
    expect(down.status).toBe('unhealthy');
    const deps = down.metrics.dependencies as { name: string; up: boolean; error?: string }[];
    expect(deps.map((d) => [d.name, d.up])).toEqual([
      ['web', false],
      ['cache', false],
    ]);
    expect(deps.every((d) => /ECONNREFUSED/.test(d.error ?? ''))).toBe(true);

    const web = createServer((_req, res) => res.writeHead(204).end());
    const cache = net.createServer((s) => s.end());
    await Promise.all([listenOn(web, httpPort), listenOn(cache, tcpPort)]);
    try {
      const up = await statusOf(api, 'network');
      expect([up.status, up.message]).toEqual(['healthy', '2 of 2 dependencies up']);
      expect((up.metrics.dependencies as { statusCode?: number }[])[0]!.statusCode).toBe(204);
    } finally {
      await Promise.all([closeServer(web), closeServer(cache)]);
    }
    expect((await statusOf(api, 'network')).status).toBe('unhealthy');
  });

  it('data: PostgreSQL cut behind a proxy is unhealthy, healthy once it is back; monitoring/health says the same', async () => {
    expect((await statusOf(api, 'data')).status).toBe('healthy');
    await pgProxy.stop();
    try {
      const down = await statusOf(api, 'data');
      expect(down.status).toBe('unhealthy');
      expect(down.message).toMatch(/^PostgreSQL unreachable: .*ECONNREFUSED/);
      const mon = await rest(api, 'GET', '/monitoring/health', viewer);
      expect(mon.status).toBe(200);
      expect(mon.body.data).toMatchObject({
        status: 'unhealthy',
        services: { postgres: { status: 'unhealthy', error: expect.stringMatching(/ECONNREFUSED/) }, redis: { status: 'healthy', error: null }, api: { status: 'healthy' } },
      });
    } finally {
      await pgProxy.start();
    }
    expect((await statusOf(api, 'data')).status).toBe('healthy');
    const mon = await rest(api, 'GET', '/monitoring/health', viewer);
    expect(mon.body.data).toMatchObject({ status: 'healthy', services: { postgres: { status: 'healthy', latencyMs: expect.any(Number), error: null } } });
  });

  it('service: Redis cut behind a proxy is unhealthy, healthy once it is back', async () => {
    const redisProxy = TcpProxy.forUrl(REDIS_URL);
    await redisProxy.start();
    // A second API instance of the same deployment whose Redis goes through the proxy; the first one runs the workers.
    const second = await env.startApp({ role: 'api', clock, overrides: { REDIS_URL: redisProxy.rewrite(REDIS_URL), DATA_DIR: dataDir } });
    try {
      // The new instance's connection through the proxy may still be opening: wait for its first healthy verdict.
      await waitFor(async () => (await statusOf(second, 'service')).status === 'healthy', 10_000, 200);
      await redisProxy.stop();
      const down = await statusOf(second, 'service');
      expect([down.status, down.message]).toEqual(['unhealthy', expect.stringMatching(/^Redis unreachable/)]);
      await redisProxy.start();
      await waitFor(async () => (await statusOf(second, 'service')).status === 'healthy', 10_000, 200);
    } finally {
      await second.stop();
      await redisProxy.stop();
    }
  });

  it('api and websocket: a server that is not there is unhealthy', async () => {
    const nowhere = await freePort();
    const other = await env.startApp({ role: 'api', clock, overrides: { HEALTH_API_URL: `http://127.0.0.1:${nowhere}`, DATA_DIR: dataDir } });
    try {
      const run = await check(other, ['api', 'websocket']);
      expect(run.checks.map((c) => [c.system, c.status])).toEqual([
        ['api', 'unhealthy'],
        ['websocket', 'unhealthy'],
      ]);
      expect(run.checks[0]!.message).toMatch(/ECONNREFUSED/);
    } finally {
      await other.stop();
    }
  });

  it('a threshold changed through PATCH changes the verdict at the next run, without a restart; the change is audited', async () => {
    const low = await rest(api, 'PATCH', '/health/config', admin, { thresholds: { memory: 1 } });
    expect(low.status).toBe(200);
    expect(low.body.data).toMatchObject({ updated: true, config: { thresholds: { memory: 1, cpu: 100, disk: 90 } } });
    const over = await statusOf(api, 'system');
    expect([over.status, over.message]).toEqual(['unhealthy', expect.stringMatching(/over threshold: memory .* > 1%/)]);

    await rest(api, 'PATCH', '/health/config', admin, { thresholds: { memory: 100 } });
    expect((await statusOf(api, 'system')).status).toBe('healthy');
    const cfg = await rest(api, 'GET', '/health/config', viewer);
    expect(cfg.body.data.thresholds).toEqual({ cpu: 100, memory: 100, disk: 90 });

    const entries = await api.app.db.prisma.auditEntry.findMany({ where: { action: 'health.config.update' }, orderBy: { seq: 'asc' } });
    expect(entries.length).toBeGreaterThanOrEqual(2);
    expect(entries.at(-1)).toMatchObject({ resourceType: 'health_config', after: expect.objectContaining({ thresholds: { cpu: 100, memory: 100, disk: 90 } }) });
  });

  it('refuses bad settings with 400 naming the field, and callers without the role with 403', async () => {
    const cases: [unknown, string][] = [
      [{ interval: 5 }, 'interval'],
      [{ interval: 86_401 }, 'interval'],
      [{ thresholds: { cpu: 101 } }, 'thresholds.cpu'],
      [{ thresholds: { disk: 0 } }, 'thresholds.disk'],
      [{ timeouts: { data: 0 } }, 'timeouts.data'],
      [{ enabledSystems: ['system', 'dsk'] }, 'enabledSystems[1]'],
      [{ intervall: 60 }, 'intervall'],
      [{}, 'body'],
    ];
    for (const [body, field] of cases) {
      const r = await rest(api, 'PATCH', '/health/config', admin, body);
      expect([JSON.stringify(body), r.status, r.body.error?.code, r.body.error?.details?.field]).toEqual([JSON.stringify(body), 400, 'ERR_1001', field]);
    }
    expect((await rest(api, 'PATCH', '/health/config', viewer, { interval: 60 })).status).toBe(403);
    expect((await rest(api, 'PATCH', '/health/config', operator, { interval: 60 })).status).toBe(403);
    expect((await rest(api, 'POST', '/health/check', viewer, {})).status).toBe(403);
    expect((await rest(api, 'GET', '/health/status', {})).status).toBe(401);
    const unknown = await rest(api, 'POST', '/health/check', operator, { systems: ['system', 'cpu'] });
    expect([unknown.status, unknown.body.error?.details?.field]).toEqual([400, 'systems[1]']);
    const gq = await gql(api.url, UpdateHealthConfigDocument, { input: { interval: 5 } }, admin);
    expect(gq.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('history: filters by system, status and since, and pages', async () => {
    clock.advance(60_000);
    for (let i = 0; i < 3; i++) await check(api, ['network']);
    const net = await rest(api, 'GET', '/health/history?system=network&status=unhealthy&limit=2&page=2', viewer);
    expect(net.status).toBe(200);
    expect(net.body.pagination).toMatchObject({ page: 2, limit: 2, hasPrev: true });
    expect(net.body.pagination.total).toBeGreaterThanOrEqual(5);
    expect(net.body.data).toHaveLength(2);
    expect(net.body.data.every((c: Check) => c.system === 'network' && c.status === 'unhealthy')).toBe(true);
    const recent = await rest(api, 'GET', '/health/history?system=network&since=30s', viewer);
    expect(recent.body.pagination.total).toBe(3);
    const first = await rest(api, 'GET', '/health/history?system=network&since=30s&limit=1&page=1', viewer);
    const second = await rest(api, 'GET', '/health/history?system=network&since=30s&limit=1&page=2', viewer);
    expect(first.body.data[0].id).not.toBe(second.body.data[0].id);
    const healthy = await rest(api, 'GET', '/health/history?status=healthy&system=network', viewer);
    expect(healthy.body.data.map((c: Check) => c.status)).toEqual(['healthy']);
    for (const [query, field] of [
      ['since=yesterday', 'since'],
      ['system=cpu', 'system'],
      ['status=ok', 'status'],
      ['limit=101', 'limit'],
      ['page=0', 'page'],
      ['sistem=disk', 'sistem'],
    ]) {
      const r = await rest(api, 'GET', `/health/history?${query}`, viewer);
      expect([query, r.status, r.body.error?.details?.field]).toEqual([query, 400, field]);
    }
  });

  it('the scheduled run stores its results, follows the stored interval, and health:changed reaches an opsEvents subscriber', async () => {
    const queue = api.app.jobs.queues.get('health')!;
    expect((await queue.getJobScheduler('health.check'))?.every).toBe(60_000);
    const events = await listen(api, admin, OpsEventsDocument, busProbe(api, HEALTH_CHANGED, (tag) => ({ system: 'system' as const, previousStatus: null, status: 'healthy' as const, message: tag, details: {}, checkId: '00000000-0000-4000-8000-000000000000', at: new Date() })), {
      variables: { types: ['health:changed'] },
      pick: (d: OpsEventsSubscription) => d.opsEvents,
    });
    try {
      // Memory over 1 % is unhealthy; the scheduled job's next run finds it and the change is published.
      await rest(api, 'PATCH', '/health/config', admin, { thresholds: { memory: 1 }, interval: 30 });
      expect((await queue.getJobScheduler('health.check'))?.every).toBe(30_000);
      clock.advance(60_000);
      const at = clock.now().toISOString();
      await api.app.jobs.enqueueByName('health.check', {});
      await queueIdle(api, 'health');
      const stored = await rest(api, 'GET', '/health/history?system=system&limit=1', viewer);
      expect(stored.body.data[0]).toMatchObject({ status: 'unhealthy', timestamp: at });
      const status = await rest(api, 'GET', '/health/status', viewer);
      expect(status.body.data).toMatchObject({ status: 'unhealthy', lastCheck: at, systems: { system: 'unhealthy', disk: 'healthy', api: 'healthy', network: 'unhealthy' } });

      const change = await waitFor(() => events.received.find((e) => (e.payload as { system: string; at: string }).system === 'system' && (e.payload as { at: string }).at === at));
      expect(change).toMatchObject({ type: 'health:changed', payload: { system: 'system', previousStatus: 'healthy', status: 'unhealthy', message: expect.stringMatching(/memory/), details: { memory: expect.any(Number) } } });
      // Unchanged systems publish nothing. api and websocket changed back: the instance pointed at
      // nowhere (above) stored them unhealthy for the deployment, and this run found them healthy.
      await events.sync();
      const changed = events.received.filter((e) => (e.payload as { at: string }).at === at).map((e) => e.payload as { system: string; previousStatus: string; status: string });
      expect(changed.map((c) => [c.system, c.previousStatus, c.status]).sort()).toEqual([
        ['api', 'unhealthy', 'healthy'],
        ['system', 'healthy', 'unhealthy'],
        ['websocket', 'unhealthy', 'healthy'],
      ]);
    } finally {
      await events.dispose();
      await rest(api, 'PATCH', '/health/config', admin, { thresholds: { memory: 100 }, interval: 60 });
    }
  });

  it('runs finishing at once publish a change once', async () => {
    const events = await listen(api, admin, OpsEventsDocument, busProbe(api, HEALTH_CHANGED, (tag) => ({ system: 'disk' as const, previousStatus: null, status: 'healthy' as const, message: tag, details: {}, checkId: '00000000-0000-4000-8000-000000000000', at: new Date() })), {
      variables: { types: ['health:changed'] },
      pick: (d: OpsEventsSubscription) => d.opsEvents.payload as { system: string; previousStatus: string; status: string },
    });
    try {
      expect((await statusOf(api, 'disk')).status).toBe('healthy');
      await rest(api, 'PATCH', '/health/config', admin, { thresholds: { disk: 1 } });
      const runs = await Promise.all([0, 1, 2, 3].map(() => check(api, ['disk'])));
      expect(runs.map((r) => r.overallStatus)).toEqual(['unhealthy', 'unhealthy', 'unhealthy', 'unhealthy']);
      // Everything the runs wrote to the outbox has been relayed, and everything relayed has come through.
      await waitFor(async () => (await api.app.db.prisma.outboxEvent.count({ where: { type: 'health:changed', state: 'PENDING' } })) === 0);
      await events.sync();
      expect(events.received.filter((e) => e.system === 'disk').map((e) => [e.previousStatus, e.status])).toEqual([['healthy', 'unhealthy']]);
    } finally {
      await events.dispose();
      await rest(api, 'PATCH', '/health/config', admin, { thresholds: { disk: 90 } });
    }
  });

  it('the prune job drops results past HEALTH_HISTORY_DAYS and keeps the rest', async () => {
    const [latest] = (await rest(api, 'GET', '/health/history?system=disk&limit=1', viewer)).body.data as Check[];
    const old = await api.app.db.prisma.healthCheck.create({
      data: { runId: latest!.id, system: 'disk', status: 'healthy', message: 'old', metrics: {}, durationMs: 1, trigger: 'schedule', instanceId: 'test', at: new Date(clock.now().getTime() - 31 * 86_400_000) },
    });
    await api.app.jobs.enqueueByName('health.prune', {});
    await queueIdle(api, 'health');
    expect(await api.app.db.prisma.healthCheck.findUnique({ where: { id: old.id } })).toBeNull();
    expect(await api.app.db.prisma.healthCheck.findUnique({ where: { id: latest!.id } })).not.toBeNull();
  });

  it('GraphQL: runHealthCheck and healthStatus; a stale result makes the summary degraded', async () => {
    const run = await gql(api.url, RunHealthCheckDocument, { systems: ['system', 'disk'], timeout: 2 }, operator);
    expect(run.data?.runHealthCheck).toMatchObject({ overallStatus: 'healthy', summary: { total: 2, healthy: 2 }, skipped: [] });
    const viewerRun = await gql(api.url, RunHealthCheckDocument, {}, viewer);
    expect(viewerRun.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const fresh = await gql(api.url, HealthStatusDocument, {}, viewer);
    expect(fresh.data?.healthStatus.systems.find((s) => s.system === 'system')).toMatchObject({ status: 'healthy', stale: false });
    // Nothing refreshes the results for more than three intervals (60 s each).
    clock.advance(181_000);
    const stale = await gql(api.url, HealthStatusDocument, {}, viewer);
    expect(stale.data?.healthStatus.status).not.toBe('healthy');
    expect(stale.data?.healthStatus.systems.every((s) => s.stale)).toBe(true);
  });
});
