import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, newAgentKey } from '../support/agent.js';
import { createTestEnv, tokenFor, type TestApp, type TestEnv } from '../support/harness.js';

/**
 * Random JSON and random GraphQL documents at the real server, for a bounded
 * time: every answer is a 4xx in the envelope or a GraphQL error; no 5xx, no
 * stack trace, and the server still answers afterwards.
 */
let env: TestEnv;
let api: TestApp;
let token: string;
let agentKey: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', overrides: { RATE_LIMIT_GRAPHQL: '100000', RATE_LIMIT_STANDARD: '100000' } });
  token = await tokenFor(api, 'ADMIN');
  agentKey = await newAgentKey(api);
});
afterAll(() => env.cleanup());

/** Strings a hostile or broken client sends: NUL, lone surrogates, control characters, any code unit, absurd dates. */
const hostile = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\uD800', 'x\uDC00', '\uDBFF\uDBFF', '\u0007\u001b[31m', '\r\n\t', '\u202e', '\uFFFF'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('0000-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00.000Z', '1970-01-01T00:00:00Z', '2026-13-45T99:99:99Z'),
);
const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    hostile,
    fc.integer(),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(hostile, fc.constantFrom('name', 'status', 'nodeId', 'slaGroup', 'observedAt', 'completedAt', 'service')), tie('v'), { maxKeys: 4 }),
  ),
})).v;

const STACK = /at \S+ \(|\.ts:\d+|\.js:\d+|node_modules/;
const FIELDS = ['me', 'users', 'apiKeys', 'readiness', 'securityEvents', '__typename', '__schema', 'login', 'createUser', 'updateUser', 'revokeApiKey', 'nope'];
const selection = fc.letrec<{ sel: string }>((tie) => ({
  sel: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...FIELDS, 'id', 'email', 'items', 'pageInfo', 'total'),
    fc.tuple(fc.constantFrom(...FIELDS), tie('sel')).map(([f, s]) => `${f} { ${s} }`),
    fc.tuple(fc.constantFrom(...FIELDS), fc.jsonValue({ maxDepth: 1 }), tie('sel')).map(([f, v, s]) => `${f}(input: ${JSON.stringify(v)}) { ${s} }`),
    fc.tuple(tie('sel'), tie('sel')).map(([a, b]) => `${a} ${b}`),
  ),
}));
const document = fc.oneof(
  fc.tuple(fc.constantFrom('query', 'mutation', 'subscription', ''), selection.sel).map(([op, s]) => `${op} { ${s} }`),
  fc.string({ maxLength: 200 }),
);
const body = fc.oneof(
  document.map((query) => JSON.stringify({ query })),
  fc.record({ query: document, variables: hostileJson }).map((v) => JSON.stringify(v)),
  hostileJson.map((v) => JSON.stringify(v)),
  fc.record({ query: document, variables: fc.jsonValue({ maxDepth: 2 }), operationName: fc.option(fc.string()) }).map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 300 }),
);

async function send(path: string, method: string, payload: string | undefined, auth: boolean) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
    body: method === 'GET' || method === 'HEAD' ? undefined : payload,
  });
  return { status: res.status, text: await res.text() };
}

describe('property: no input makes the server fail', () => {
  it('GraphQL: random bodies and documents get 2xx/4xx, never 5xx or a stack', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (payload, auth) => {
        const r = await send('/graphql', 'POST', payload, auth);
        expect(r.status, r.text).toBeLessThan(500);
        expect(r.text).not.toMatch(STACK);
        if (r.status >= 400) expect(r.text.startsWith('{') ? JSON.parse(r.text) : null).toMatchObject({});
      }),
      { numRuns: 400, interruptAfterTimeLimit: 12_000 },
    );
  }, 30_000);

  it('REST: random paths, methods and bodies get a JSON 4xx envelope, never 5xx', async () => {
    const path = fc.oneof(
      fc.constantFrom('/api/v1', '/api/ops', '/api/v1/operator', '/admin', ''),
      fc.webPath(),
    ).chain((base) => fc.webPath().map((p) => `${base}${p}`.replace(/^(?!\/)/, '/')));
    await fc.assert(
      fc.asyncProperty(path, fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), body, fc.boolean(), async (p, method, payload, auth) => {
        const r = await send(p === '/graphql' ? '/api/v1/x' : p, method, payload, auth);
        expect(r.status, `${method} ${p}: ${r.text}`).toBeLessThan(500);
        expect(r.text).not.toMatch(STACK);
        if (r.status >= 400 && !p.startsWith('/graphql')) {
          expect(JSON.parse(r.text)).toMatchObject({ success: false, error: { code: expect.stringMatching(/^ERR_/) } });
        }
      }),
      { numRuns: 300, interruptAfterTimeLimit: 10_000 },
    );
  }, 30_000);

  it('agents: hostile strings and dates in every field of the agent bodies get 4xx, never 5xx', async () => {
    const ag = agent(api, agentKey);
    const service = fc.record({ name: hostile, status: fc.oneof(fc.constantFrom('OPERATIONAL', 'MAJOR_OUTAGE'), hostile), slaGroup: fc.option(hostile), namespace: fc.option(hostile), displayName: fc.option(hostile) }, { requiredKeys: ['name', 'status'] });
    const report = fc.oneof(
      fc.record({ nodeId: fc.oneof(fc.constant('fuzz/node'), hostile), observedAt: fc.option(hostile), services: fc.array(service, { maxLength: 3 }), slaGroups: fc.array(fc.record({ name: hostile }), { maxLength: 2 }) }).map((b) => ['status', b] as const),
      fc.record({ service: hostile, status: fc.constantFrom('success', 'failed'), completedAt: fc.option(hostile), message: fc.option(hostile), reportId: fc.option(hostile) }).map((b) => ['backup', b] as const),
      fc.record({ name: hostile, nodeId: fc.oneof(fc.constant('fuzz/node'), hostile), displayName: fc.option(hostile) }).map((b) => ['register', b] as const),
    );
    await fc.assert(
      fc.asyncProperty(report, async ([route, b]) => {
        const r = await ag[route](JSON.parse(JSON.stringify(b, (_k, v: unknown) => (v === null ? undefined : v))));
        expect(r.status, `${route} ${JSON.stringify(b)}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
      }),
      { numRuns: 300, interruptAfterTimeLimit: 10_000 },
    );
  }, 30_000);

  it('still answers afterwards', async () => {
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
  });
});
