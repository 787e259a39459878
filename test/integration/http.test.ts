import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadinessDocument } from '../generated/graphql.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearer, createTestEnv, gql, tokenFor, type TestApp, type TestEnv } from '../support/harness.js';

let env: TestEnv;
let api: TestApp;
const clock = new FakeClock('2026-02-07T14:05:30.123Z');

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ clock, overrides: { BODY_LIMIT: '2kb' } });
});
afterAll(() => env.cleanup());

describe('probes', () => {
  it('answers liveness and readiness with both dependencies named', async () => {
    const live = await fetch(`${api.url}/healthz`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    expect(body.checks.postgres?.ok).toBe(true);
    expect(body.checks.redis?.ok).toBe(true);
  });
});

describe('GraphQL over HTTP', () => {
  it('answers { __typename } and typed queries', async () => {
    const res = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });

    const r = await gql(api.url, ReadinessDocument);
    expect(r.data?.readiness.ready).toBe(true);
    // Services read time from the injected clock.
    expect(r.data?.readiness.checkedAt).toBe('2026-02-07T14:05:30.123Z');
    expect(r.data?.readiness.checks.map((c) => c.name).sort()).toEqual(['postgres', 'redis']);
  });

  it('refuses batched requests', async () => {
    const res = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(res.status).toBe(400);
  });

  it('blocks cross-site GET queries (CSRF prevention)', async () => {
    const res = await fetch(`${api.url}/graphql?query=${encodeURIComponent('{ __typename }')}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF|preflight/i);
  });

  it('reports a broken document with a code and no stack trace', async () => {
    const res = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ readiness { nope } }' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(body)).not.toMatch(/stacktrace|at .*\.js:\d+/);
  });

  it('answers malformed JSON on /graphql with a GraphQL-shaped 400', async () => {
    const res = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('REST edge', () => {
  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const kept = await fetch(`${api.url}/healthz`, { headers: { 'x-request-id': 'req-123.abc' } });
    expect(kept.headers.get('x-request-id')).toBe('req-123.abc');
    const replaced = await fetch(`${api.url}/healthz`, { headers: { 'x-request-id': 'bad id\twith "quotes"' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const fresh = await fetch(`${api.url}/healthz`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown API routes with a JSON 404 envelope', async () => {
    const res = await fetch(`${api.url}/api/v1/does-not-exist`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { success: boolean; error: { code: string }; metadata: { version: string; timestamp: string } };
    expect(body.success).toBe(false);
    expect(body.error.code).toBe('ERR_1002');
    expect(body.metadata.version).toBe('3.0.0');
    expect(body.metadata.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('answers malformed JSON with 400 naming the body', async () => {
    const res = await fetch(`${api.url}/api/v1/anything`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { field: string } } };
    expect(body.error).toMatchObject({ code: 'ERR_1001', details: { field: 'body' } });
  });

  it('answers an oversized body with 413 in the envelope', async () => {
    const res = await fetch(`${api.url}/api/v1/anything`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ blob: 'x'.repeat(4_000) }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { success: boolean; error: { code: string } };
    expect(body).toMatchObject({ success: false, error: { code: 'ERR_PAYLOAD_TOO_LARGE' } });
  });

  it('sets security headers and hides the framework', async () => {
    const res = await fetch(`${api.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('keeps Bull Board unmounted unless enabled', async () => {
    const res = await fetch(`${api.url}/admin/queues`);
    expect(res.status).toBe(404);
    const board = await env.startApp({ role: 'api', overrides: { BULL_BOARD_ENABLED: 'true' } });
    // Enabled, it is for admins only.
    expect((await fetch(`${board.url}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${board.url}/admin/queues`, { headers: bearer(await tokenFor(board, 'OPERATOR')) })).status).toBe(403);
    const page = await fetch(`${board.url}/admin/queues`, { headers: bearer(await tokenFor(board, 'ADMIN')) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });
});

describe('production defaults', () => {
  const introspect = (url: string) =>
    fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }) });
  const landing = (url: string) => fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });

  it('turns introspection and the landing page off in production unless enabled', async () => {
    const secret = { JWT_SECRET: 'a-production-secret-of-at-least-32-chars' };
    const [prod, prodOn] = await Promise.all([
      env.startApp({ role: 'api', overrides: { NODE_ENV: 'production', ...secret } }),
      env.startApp({ role: 'api', overrides: { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', ...secret } }),
    ]);
    expect((await introspect(prod.url)).status).toBe(400);
    expect((await landing(prod.url)).headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect((await introspect(prodOn.url)).status).toBe(200);
    expect((await introspect(api.url)).status).toBe(200);
    expect((await landing(api.url)).headers.get('content-type')).toMatch(/text\/html/);
  });
});
