import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/env.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearer, createTestEnv, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

let env: TestEnv;
let a: TestApp;
let b: TestApp;
let viewer: Record<string, string>;
let redis: Redis;

beforeAll(async () => {
  env = await createTestEnv();
  // Two API instances of one deployment: one PostgreSQL, one Redis.
  // Each instance publishes its figures every second: on a busy machine Redis may take longer than the 300 ms a request waits for it.
  const overrides = { REDIS_COMMAND_TIMEOUT_MS: '3000' };
  [a, b] = await Promise.all([env.startApp({ role: 'api', overrides }), env.startApp({ role: 'api', overrides })]);
  viewer = bearer(await tokenFor(a, 'VIEWER'));
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await env.cleanup();
});

interface Status {
  status: string;
  services: Record<'api' | 'websocket' | 'database' | 'cache', string>;
  metrics: { requests_per_second: number; active_connections: number; avg_response_time_ms: number; instances: number };
}

async function status(app: TestApp): Promise<Status> {
  const res = await fetch(`${app.url}/api/v1/status`, { headers: viewer });
  expect(res.status).toBe(200);
  return (await res.json()) as Status;
}
/** Requests of the last minute across the deployment, as an answer states them. */
const requests = (s: Status) => Math.round(s.metrics.requests_per_second * 60);

/**
 * Resolves once every instance has published its figures at or after `since` (ms): each publish
 * takes all the requests finished before it, so those are then in every answer. The signal is
 * the instance's report in Redis, as the answers read it.
 */
async function publishedSince(since: number, apps: TestApp[] = [a, b]): Promise<void> {
  await waitFor(async () => {
    const at = await Promise.all(apps.map((app) => redis.hget(`${env.prefix}:status:instance:${app.app.runtime.instanceId}`, 'at')));
    return at.every((t) => Number(t) >= since);
  }, 5_000, 20);
}

describe('GET /api/v1/health', () => {
  it('answers { status, timestamp, version, uptime } and touches PostgreSQL at most once per second of the clock, whatever the request rate', async () => {
    const own = await createTestEnv();
    try {
      const clock = new FakeClock();
      const api = await own.startApp({ role: 'api', clock });
      let pings = 0;
      const pool = api.app.db.pool;
      const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
      // The readiness ping is the only SELECT 1 this app sends.
      pool.query = ((...args: unknown[]) => {
        if ((args[0] as { text?: string } | undefined)?.text === 'SELECT 1') pings++;
        return query(...args);
      }) as typeof pool.query;

      const burst = await Promise.all(Array.from({ length: 40 }, () => fetch(`${api.url}/api/v1/health`)));
      for (let i = 0; i < 10; i++) burst.push(await fetch(`${api.url}/api/v1/health`));
      expect(burst.map((r) => r.status)).toEqual(burst.map(() => 200));
      const body = (await burst[0]!.json()) as Record<string, unknown>;
      const version = (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
      expect(body).toEqual({ status: 'healthy', timestamp: clock.now().toISOString(), version, uptime: expect.any(Number) });
      expect(Number.isInteger(body.uptime) && (body.uptime as number) >= 0).toBe(true);
      expect(burst[0]!.headers.get('x-ratelimit-limit')).toBeNull();
      expect(pings).toBe(1);

      clock.advance(999);
      await Promise.all(Array.from({ length: 10 }, () => fetch(`${api.url}/api/v1/health`)));
      expect(pings).toBe(1);
      clock.advance(1);
      await Promise.all(Array.from({ length: 10 }, () => fetch(`${api.url}/api/v1/health`)));
      expect(pings).toBe(2);
    } finally {
      await own.cleanup();
    }
  });
});

describe('GET /api/v1/status', () => {
  it('refuses anonymous callers', async () => {
    const res = await fetch(`${a.url}/api/v1/status`);
    expect(res.status).toBe(401);
  });

  it('adds up the figures of every instance: a burst to two instances moves the answer of each by exactly what they served', async () => {
    await publishedSince(Date.now());
    const before = await status(a);
    expect(before).toMatchObject({
      status: 'operational',
      services: { api: 'operational', websocket: 'operational', database: 'operational', cache: 'operational' },
      metrics: { instances: 2 },
    });
    expect(before.metrics.avg_response_time_ms).toBeGreaterThan(0);

    await Promise.all([...Array.from({ length: 40 }, () => fetch(`${a.url}/healthz`)), ...Array.from({ length: 25 }, () => fetch(`${b.url}/healthz`))]);
    await publishedSince(Date.now());
    // The burst, and the status call before it: each instance's requests, once.
    const onA = await status(a);
    expect(requests(onA)).toBe(requests(before) + 65 + 1);
    await publishedSince(Date.now());
    const onB = await status(b);
    expect(requests(onB)).toBe(requests(onA) + 1);
    expect(onB.metrics.instances).toBe(2);
  });

  it('counts the open connections of every instance, WebSockets included', async () => {
    // The lowest of a few readings: an instance's own short-lived WebSocket check or a request of
    // another test still in flight may be counted in any single one.
    let base = Infinity;
    for (let i = 0; i < 4; i++) {
      base = Math.min(base, (await status(a)).metrics.active_connections);
      await new Promise((r) => setTimeout(r, 250));
    }
    const sockets = await Promise.all(
      [b, b, b].map(
        (app) =>
          new Promise<WebSocket>((resolve, reject) => {
            // Signed in, so that the 5 s sign-in deadline cannot close them before B publishes.
            const ws = new WebSocket(`${app.url.replace(/^http/, 'ws')}/ws?token=${viewer.authorization!.slice('Bearer '.length)}`);
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    let counted = 0;
    try {
      // Sockets on B, counted in A's answer once B has published.
      await waitFor(async () => (counted = (await status(a)).metrics.active_connections) >= base + 3, 10_000, 200);
    } finally {
      for (const ws of sockets) ws.terminate();
    }
    // Their close is counted too. Not "back to before": each instance's status check opens a
    // short-lived WebSocket to itself now and then, so one more or less may be open at any moment.
    await waitFor(async () => (await status(a)).metrics.active_connections <= counted - 3, 5_000, 200);
  });
});
