import { FakeClock } from '../support/fake-clock.js';
import { print } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_TOLERANCE_SECONDS, createAccessTokens } from '../../src/auth/tokens.js';
import { CreateUserDocument, LoginDocument, MeDocument, OpsEventsDocument, UpdateUserDocument } from '../generated/graphql.js';
import { bearer, createTestEnv, login, gql, probeOf, subscribeReady, tokenFor, wsClient, type TestApp, type TestEnv } from '../support/harness.js';
import { systemActor } from '../../src/auth/actor.js';

let env: TestEnv;
let limited: TestEnv;
// a and b: two instances with tight budgets sharing one Redis; api: default budgets, for everything else.
let a: TestApp;
let b: TestApp;
let api: TestApp;
let viewer: string;
// Budgets count in one-minute windows: a stopped clock keeps the whole file in one window, wherever
// the real minute turns.
const clock = new FakeClock(new Date());

beforeAll(async () => {
  [env, limited] = await Promise.all([createTestEnv(), createTestEnv()]);
  const overrides = { RATE_LIMIT_GRAPHQL: '8', RATE_LIMIT_ANONYMOUS: '6' };
  [a, b, api] = await Promise.all([
    limited.startApp({ role: 'api', overrides, clock }),
    limited.startApp({ role: 'api', overrides, clock }),
    env.startApp({ role: 'api', overrides: { WS_MAX_SUBSCRIPTIONS: '3' } }),
  ]);
  viewer = await tokenFor(api, 'VIEWER');
});
afterAll(() => Promise.all([env.cleanup(), limited.cleanup()]));

const typename = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"query":"{ __typename }"}' });

describe('rate limits shared by instances', () => {
  it('counts one budget across two instances, with headers, then answers 429 RATE_LIMITED with retryAfter', async () => {
    // A fresh user has a budget of its own (GraphQL is limited per user, per address when anonymous).
    const token = await tokenFor(a, 'VIEWER');
    const seen: { status: number; remaining: string | null; limit: string | null; reset: string | null }[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await typename(i % 2 ? b.url : a.url, bearer(token));
      seen.push({ status: res.status, remaining: res.headers.get('x-ratelimit-remaining'), limit: res.headers.get('x-ratelimit-limit'), reset: res.headers.get('x-ratelimit-reset') });
      if (res.status === 429) {
        const body = (await res.json()) as { errors: { extensions: { code: string; retryAfter: number; limit: number } }[] };
        expect(body.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 8 });
        expect(body.errors[0]!.extensions.retryAfter).toBeGreaterThan(0);
        expect(body.errors[0]!.extensions.retryAfter).toBeLessThanOrEqual(60);
        expect(res.headers.get('retry-after')).toBe(String(body.errors[0]!.extensions.retryAfter));
      } else {
        await res.arrayBuffer();
      }
    }
    expect(seen.every((s) => s.limit === '8')).toBe(true);
    expect(seen.map((s) => s.status)).toEqual([...Array(8).fill(200), 429, 429]);
    // Remaining counts down across both instances: one shared budget. The 8 before this test: tokenFor's logins do not count (anonymous budget).
    expect(seen.slice(0, 8).map((s) => Number(s.remaining))).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
    // The first refusal of the window is kept in the security log (once, not per refused request).
    const events = await a.app.db.prisma.securityEvent.findMany({ where: { type: 'rate_limited' } });
    expect(events.filter((e) => (e.details as { class?: string }).class === 'graphql')).toHaveLength(1);
    const reset = Number(seen[0]!.reset);
    expect(reset).toBeGreaterThan(clock.now().getTime() / 1000);
    expect(reset).toBeLessThanOrEqual(clock.now().getTime() / 1000 + 61);
  });

  it('spends the anonymous budget on login attempts, whatever the email', async () => {
    const statuses: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await gql(i % 2 ? b.url : a.url, LoginDocument, { email: `nobody${i}@example.com`, password: 'wrong-password' });
      statuses.push(String(r.errors?.[0]?.extensions?.code));
    }
    // tokenFor's two logins spent 2 of the 6 already.
    expect(statuses.filter((s) => s === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(4);
    expect(statuses.at(-1)).toBe('RATE_LIMITED');
  });
});

describe('document limits on HTTP and WebSocket', () => {
  const deep = (n: number) => `__type(name: "Query") { ${'fields { type { '.repeat(n)}name${' } }'.repeat(n)} }`;
  const documents: [string, string][] = [
    ['a depth-50 query', `{ ${deep(25)} }`],
    ['1,000 aliases', `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ')} }`],
    ['the __schema-named-fragment trick', `query { ...__schema } fragment __schema on Query { ${deep(25)} }`],
    ['10,000 tokens', `{ __typename ${'@include(if: true) '.repeat(2500)} }`],
  ];

  it.each(documents)('refuses %s over HTTP with 400 in under a second', async (_name, query) => {
    const started = performance.now();
    const res = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(api, 'ADMIN')}` }, body: JSON.stringify({ query }) });
    const elapsed = performance.now() - started;
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']).toContain(body.errors[0]!.extensions.code);
    expect(elapsed).toBeLessThan(1_000);
  });

  it.each(documents)('refuses %s over WebSocket in under a second', async (_name, query) => {
    const client = wsClient(api.wsUrl, { authorization: `Bearer ${viewer}` });
    try {
      const started = performance.now();
      const error = await new Promise<unknown>((resolve) => client.subscribe({ query }, { next: () => undefined, error: resolve, complete: () => resolve(null) }));
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(JSON.stringify(error)).toMatch(/GRAPHQL_VALIDATION_FAILED|GRAPHQL_PARSE_FAILED/);
    } finally {
      await client.dispose();
    }
  });
});

describe('WebSocket authentication', () => {
  function raw(url: string) {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const closed = new Promise<{ code: number; at: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, at: Date.now(), reason: reason.toString() })));
    const opened = new Promise<void>((resolve) => ws.on('open', () => resolve()));
    return { ws, closed, opened };
  }

  it('closes 4408 when connection_init never comes', async () => {
    const c = raw(api.wsUrl);
    expect((await c.closed).code).toBe(4408);
  });

  it.each([
    ['a bad token', { authorization: 'Bearer not-a-token' }],
    ['a revoked-looking API key', { authorization: 'Bearer opk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['no token', {}],
  ])('closes 4403 for %s', async (_name, params) => {
    const c = raw(api.wsUrl);
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'connection_init', payload: params }));
    expect((await c.closed).code).toBe(4403);
  });

  it('applies the same roles as HTTP: an agent key may connect but not subscribe', async () => {
    const { secret } = await api.app.auth.apiKeys.create({ name: 'ws test agent' }, systemActor('test'));
    const client = wsClient(api.wsUrl, { authorization: secret });
    try {
      // Authorization runs when the subscription starts: the refusal arrives as a result with errors.
      const outcome = await new Promise<unknown>((resolve) => client.subscribe({ query: print(OpsEventsDocument) }, { next: resolve, error: resolve, complete: () => resolve(null) }));
      expect(JSON.stringify(outcome)).toContain('FORBIDDEN');
    } finally {
      await client.dispose();
    }
  });

  it('closes 4403 when the access token expires', async () => {
    const c = raw(api.wsUrl);
    await c.opened;
    const started = Date.now();
    // Expired 29 s ago: within the clock tolerance that HTTP and WebSocket share, so it is taken for one more second.
    c.ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await shortLivedToken(1 - CLOCK_TOLERANCE_SECONDS)}` } }));
    const { code, at, reason } = await c.closed;
    expect([code, reason]).toEqual([4403, 'token expired']);
    expect(at - started).toBeGreaterThan(500);
    expect(at - started).toBeLessThan(2_500);
  });

  it('serves only subscriptions, and looks at the caller again for each one', async () => {
    const email = 'ws-disabled@opsgraph.test';
    const admin = await tokenFor(api, 'ADMIN');
    const created = await gql(api.url, CreateUserDocument, { input: { email, password: 'a-long-enough-password', role: 'VIEWER' } }, bearer(admin));
    const token = (await login(api.url, email, 'a-long-enough-password')).token;
    const client = wsClient(api.wsUrl, { authorization: `Bearer ${token}` });
    const first = (query: string) =>
      new Promise<unknown>((resolve) => client.subscribe({ query }, { next: resolve, error: resolve, complete: () => resolve(null) }));
    try {
      expect(JSON.stringify(await first('{ __typename }'))).toMatch(/only subscriptions/);
      await gql(api.url, UpdateUserDocument, { id: created.data!.createUser.id, input: { disabled: true } }, bearer(admin));
      // Refused, and the connection is closed 4403.
      const outcome = (await first(print(OpsEventsDocument))) as { code?: number };
      expect(outcome.code === 4403 || JSON.stringify(outcome).includes('UNAUTHENTICATED')).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('caps live subscriptions per connection', async () => {
    const client = wsClient(api.wsUrl, { authorization: `Bearer ${viewer}` });
    try {
      // Four at once, each settled by the server's answer rather than a pause: live (a probe came
      // through it) or refused (its error). Only then is "exactly one refused" a fact.
      const settled = await Promise.allSettled(Array.from({ length: 4 }, () => subscribeReady(client, OpsEventsDocument, {}, probeOf.ticketCreated(api))));
      const outcomes: unknown[] = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
      expect(outcomes).toHaveLength(1);
      expect(JSON.stringify(outcomes[0])).toMatch(/at most 3 subscriptions/);
    } finally {
      await client.dispose();
    }
  });

  it('closes 1009 on a message over 64 KiB', async () => {
    const c = raw(api.wsUrl);
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${viewer}`, pad: 'x'.repeat(70 * 1024) } }));
    expect((await c.closed).code).toBe(1009);
  });
});

/** A real access token of the viewer, signed by the app itself, that expires in `seconds`. */
async function shortLivedToken(seconds: number): Promise<string> {
  const me = await gql(api.url, MeDocument, {}, bearer(viewer));
  const tokens = createAccessTokens({
    secret: (await api.app.db.prisma.setting.findUniqueOrThrow({ where: { key: 'jwt_secret' } })).value,
    issuer: api.app.config.JWT_ISSUER,
    audience: api.app.config.JWT_AUDIENCE,
    ttlSeconds: 60,
    clock: { now: () => new Date(Date.now() - 59_000 + seconds * 1000) },
  });
  return (await tokens.sign({ id: me.data!.me.id, role: 'VIEWER', email: me.data!.me.email })).token;
}
