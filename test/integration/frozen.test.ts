import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginDocument, MeDocument, ServicesDocument } from '../generated/graphql.js';
import { newAgentKey } from '../support/agent.js';
import { REDIS_URL } from '../support/env.js';
import { ADMIN, createTestEnv, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * A dependency that stops answering without closing its sockets (a paused process, a network
 * black hole) must cost a request a bounded wait, never the length of the freeze.
 */

type Answer = { status: number; ms: number; body: Record<string, any>; error?: string };

/** One HTTP call, timed; on code that hangs, it gives up after `abortMs` instead of hanging the test. */
async function timed(url: string, init: RequestInit, abortMs: number): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(abortMs) });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - started, body: text ? JSON.parse(text) : {} };
  } catch (err) {
    return { status: 0, ms: performance.now() - started, body: {}, error: (err as Error).message };
  }
}

const json = (body: unknown, authorization?: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
  body: JSON.stringify(body),
});
const graphql = <T, V>(doc: TypedDocumentNode<T, V>, variables: V, authorization?: string) => json({ query: print(doc), variables }, authorization);

const describeAnswers = (answers: Answer[]) => answers.map((a) => `${a.status}${a.error ? ` (${a.error})` : ''} in ${Math.round(a.ms)} ms`).join(', ');

describe('a frozen Redis', () => {
  let env: TestEnv;
  let api: TestApp;
  let proxy: TcpProxy;
  let viewer: string;
  let agentKey: string;
  const NODE = 'frozen/redis/cluster1';

  beforeAll(async () => {
    env = await createTestEnv();
    proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    api = await env.startApp({ role: 'api', overrides: { REDIS_URL: proxy.rewrite(REDIS_URL), DEPENDENCY_TIMEOUT_MS: '500' } });
    viewer = `Bearer ${await tokenFor(api, 'VIEWER')}`;
    agentKey = `Bearer ${await newAgentKey(api, NODE)}`;
  });
  afterAll(async () => {
    proxy.thaw();
    await env.cleanup();
    await proxy.stop();
  });

  const status = (i: number) =>
    timed(`${api.url}/api/v1/operator/status`, json({ nodeId: NODE, services: [{ name: 'svc-a', status: i % 2 ? 'MAJOR_OUTAGE' : 'OPERATIONAL' }, { name: 'svc-b', status: 'OPERATIONAL' }] }, agentKey), 5_000);
  const readyz = () => timed(`${api.url}/readyz`, {}, 5_000);

  const services = () => timed(`${api.url}/graphql`, graphql(ServicesDocument, { filter: { nodeId: NODE } }, viewer), 5_000);

  it('stalls no request: status posts are recorded, queries answer, and every answer comes within 1 s', async () => {
    // Warm: the first request of each kind is slower for reasons of its own.
    expect((await status(0)).status).toBe(200);
    expect((await services()).status).toBe(200);
    const posts: Answer[] = [];
    const queries: Answer[] = [];
    const others: Record<string, Answer> = {};
    proxy.freeze();
    try {
      const until = performance.now() + 3_000;
      await Promise.all([
        (async () => {
          for (let i = 1; i <= 100 && performance.now() < until; i++) posts.push(await status(i));
        })(),
        (async () => {
          for (let i = 1; i <= 100 && performance.now() < until; i++) {
            queries.push(await services());
          }
        })(),
        (async () => {
          // Needs Redis for its lockout, so it is refused (503), but promptly.
          others.login = await timed(`${api.url}/graphql`, graphql(LoginDocument, { email: ADMIN.email, password: ADMIN.password }), 5_000);
          // A rejected key is recorded in the security log, sampled through Redis.
          others.badKey = await timed(`${api.url}/api/v1/operator/status`, json({ nodeId: NODE, services: [] }, 'Bearer opk_nothing_nothing'), 5_000);
          others.readyz = await readyz();
        })(),
      ]);
    } finally {
      proxy.thaw();
    }

    const slow = [...posts, ...queries, ...Object.values(others)].filter((a) => a.ms >= 1_000);
    expect(slow, `answers slower than 1 s: ${describeAnswers(slow)}`).toEqual([]);
    expect(posts.length).toBeGreaterThan(2);
    expect(queries.length).toBeGreaterThan(2);
    expect(posts.every((a) => a.status === 200 && a.body.success === true), describeAnswers(posts)).toBe(true);
    // Recorded, not merely answered: the service has the status of the last report.
    const svc = await api.app.db.prisma.service.findFirst({ where: { nodeId: NODE, name: 'svc-a' } });
    expect(svc?.status).toBe(posts.length % 2 ? 'MAJOR_OUTAGE' : 'OPERATIONAL');
    expect(queries.every((a) => a.status === 200 && !a.body.errors && a.body.data?.services), describeAnswers(queries)).toBe(true);
    expect(others.login).toMatchObject({ status: 503, body: { errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE', dependency: 'redis' } }] } });
    expect(others.badKey?.status).toBe(401);
    // Readiness answers within its own timeout, naming Redis, and shows what the rate limiter let through.
    expect(others.readyz).toMatchObject({ status: 503, body: { failed: ['redis'], checks: { redis: { ok: false, error: 'timeout' } } } });
    expect(others.readyz!.ms).toBeLessThan(api.app.config.DEPENDENCY_TIMEOUT_MS + 400);
    expect(others.readyz!.body.checks.redis.fallbacks.rateLimit).toBeGreaterThan(0);

    // Thawed: ready again, and the rate limit counts again.
    await waitFor(async () => (await readyz()).status === 200, 10_000, 100);
    await waitFor(counted, 10_000, 200);
    expect((await status(101)).status).toBe(200);
    const login = await timed(`${api.url}/graphql`, graphql(LoginDocument, { email: ADMIN.email, password: ADMIN.password }), 5_000);
    expect(login.body.data?.login.token).toBeTruthy();
  });

  /** Two agent calls in a row spend the budget visibly (the limiter asks Redis again). */
  async function counted(): Promise<boolean> {
    const call = () => fetch(`${api.url}/api/v1/operator/services?nodeId=${encodeURIComponent(NODE)}`, { headers: { authorization: agentKey } });
    const a = Number((await call()).headers.get('x-ratelimit-remaining'));
    const b = Number((await call()).headers.get('x-ratelimit-remaining'));
    return b < a;
  }
});

describe('a frozen PostgreSQL', () => {
  let env: TestEnv;
  let api: TestApp;
  let proxy: TcpProxy;
  let viewer: string;
  let agentKey: string;
  const NODE = 'frozen/postgres/cluster1';
  // The client gives up on a query 1 s after the statement timeout; the rest is slack for a busy machine.
  const STATEMENT_TIMEOUT_MS = 1_000;
  const BUDGET_MS = STATEMENT_TIMEOUT_MS + 1_000 + 1_000;

  beforeAll(async () => {
    env = await createTestEnv();
    proxy = TcpProxy.forUrl(env.databaseUrl);
    await proxy.start();
    api = await env.startApp({
      role: 'api',
      overrides: { DATABASE_URL: proxy.rewrite(env.databaseUrl), DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), DEPENDENCY_TIMEOUT_MS: '500' },
    });
    viewer = `Bearer ${await tokenFor(api, 'VIEWER')}`;
    agentKey = `Bearer ${await newAgentKey(api, NODE)}`;
  });
  afterAll(async () => {
    proxy.thaw();
    await env.cleanup();
    await proxy.stop();
  });

  const me = () => timed(`${api.url}/graphql`, graphql(MeDocument, {}, viewer), BUDGET_MS + 3_000);
  const status = () => timed(`${api.url}/api/v1/operator/status`, json({ nodeId: NODE, services: [{ name: 'svc-a', status: 'OPERATIONAL' }] }, agentKey), BUDGET_MS + 3_000);
  // A Prisma interactive transaction, where the others are a pooled query (me) and a transaction of our own (status).
  const register = () => timed(`${api.url}/api/v1/operator/register`, json({ nodeId: NODE, name: 'svc-b' }, agentKey), BUDGET_MS + 3_000);

  it('answers 503 naming postgres within the budget, discards the frozen connections, and recovers when thawed', async () => {
    expect((await me()).status).toBe(200);
    expect((await register()).status).toBe(201);
    // Fresh caches of the API key and the license, so the agent's calls go straight to their transactions.
    expect((await status()).status).toBe(200);

    const pool: pg.Pool = api.app.db.pool;
    const acquired = new Set<pg.PoolClient>();
    const removed = new Set<pg.PoolClient>();
    const onAcquire = (c: pg.PoolClient) => acquired.add(c);
    const onRemove = (c: pg.PoolClient) => removed.add(c);
    pool.on('acquire', onAcquire);
    pool.on('remove', onRemove);
    const answers: Record<string, Answer> = {};
    proxy.freeze();
    try {
      answers.status = await status();
      answers.register = await register();
      answers.me = await me();
      answers.readyz = await timed(`${api.url}/readyz`, {}, BUDGET_MS + 3_000);
      // Every connection that met the freeze is out of the pool, none goes back to serve the next request.
      await waitFor(() => [...acquired].every((c) => removed.has(c)), BUDGET_MS).catch(() => undefined);
    } finally {
      pool.off('acquire', onAcquire);
      pool.off('remove', onRemove);
      proxy.thaw();
    }

    for (const [name, a] of Object.entries(answers)) expect(a.ms, `${name}: ${describeAnswers([a])}`).toBeLessThan(BUDGET_MS);
    expect(answers.status).toMatchObject({ status: 503, body: { error: { details: { dependency: 'postgres' } } } });
    expect(answers.register).toMatchObject({ status: 503, body: { error: { details: { dependency: 'postgres' } } } });
    expect(answers.me).toMatchObject({ status: 503, body: { errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE', dependency: 'postgres' } }] } });
    expect(answers.readyz).toMatchObject({ status: 503, body: { failed: ['postgres'], checks: { postgres: { ok: false, error: 'timeout' } } } });
    expect(answers.readyz!.ms).toBeLessThan(api.app.config.DEPENDENCY_TIMEOUT_MS + 400);
    expect(acquired.size).toBeGreaterThan(0);
    expect([...acquired].filter((c) => !removed.has(c)).length, 'frozen connections returned to the pool').toBe(0);

    // Thawed: it serves again, with more requests at once than the pool has connections.
    await waitFor(async () => (await timed(`${api.url}/readyz`, {}, 5_000)).status === 200, 10_000, 100);
    const after = await Promise.all([status(), register(), ...Array.from({ length: 2 * api.app.config.DATABASE_POOL_MAX }, () => me())]);
    expect(after.filter((a) => a.status !== 200), describeAnswers(after)).toEqual([]);
  });
});
