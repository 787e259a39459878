import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginDocument, MeDocument, ReadinessDocument } from '../generated/graphql.js';
import { REDIS_URL } from '../support/env.js';
import { ADMIN, bearer, createTestEnv, gql, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

type ReadyBody = { status: string; failed?: string[]; checks: Record<string, { ok: boolean; error?: string }> };

let env: TestEnv;
let api: TestApp;
let redisProxy: TcpProxy;
let pgProxy: TcpProxy;
let token: string;

beforeAll(async () => {
  env = await createTestEnv();
  redisProxy = TcpProxy.forUrl(REDIS_URL);
  pgProxy = TcpProxy.forUrl(env.databaseUrl);
  await Promise.all([redisProxy.start(), pgProxy.start()]);
  api = await env.startApp({
    role: 'api',
    overrides: {
      REDIS_URL: redisProxy.rewrite(REDIS_URL),
      DATABASE_URL: pgProxy.rewrite(env.databaseUrl),
      DEPENDENCY_TIMEOUT_MS: '500',
    },
  });
  token = await tokenFor(api, 'VIEWER');
});
afterAll(async () => {
  await Promise.all([redisProxy.start().catch(() => undefined), pgProxy.start().catch(() => undefined)]);
  await env.cleanup();
  await Promise.all([redisProxy.stop(), pgProxy.stop()]);
});

async function readyz(): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(`${api.url}/readyz`);
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

describe('readiness follows the dependencies', () => {
  it.each([
    ['redis', () => redisProxy],
    ['postgres', () => pgProxy],
  ] as const)('turns 503 naming %s while it is gone, and recovers by itself when it returns', async (name, proxy) => {
    expect((await readyz()).status).toBe(200);

    await proxy().stop();
    const down = await waitFor(async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    }, 5_000);
    expect(down.body.status).toBe('unavailable');
    expect(down.body.failed).toEqual([name]);
    expect(down.body.checks[name]?.ok).toBe(false);
    expect(down.body.checks[name]?.error).toMatch(/^(timeout|unreachable)$/);
    // Liveness is not readiness: the process itself is fine.
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const graphql = await gql(api.url, ReadinessDocument);
    expect(graphql.data?.readiness.ready).toBe(false);
    // A request that needs the missing dependency answers 503 naming it, not a masked 500.
    const needs = await gql(api.url, MeDocument, {}, bearer(token));
    if (name === 'postgres') {
      expect(needs.status).toBe(503);
      expect(needs.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', dependency: 'postgres' });
    } else {
      const login = await gql(api.url, LoginDocument, { email: ADMIN.email, password: ADMIN.password });
      expect(login.status).toBe(503);
      expect(login.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', dependency: 'redis' });
    }

    await proxy().start();
    const up = await waitFor(async () => {
      const r = await readyz();
      return r.status === 200 ? r : undefined;
    }, 10_000, 200);
    expect(up.body).toMatchObject({ status: 'ready' });
    expect(up.body.failed).toBeUndefined();
  });
});
