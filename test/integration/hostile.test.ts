import { print, isEnumType, isInputObjectType, isListType, isNonNullType, isScalarType, type GraphQLInputType, type GraphQLObjectType, getNamedType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogDocument, OpsEventsDocument } from '../generated/graphql.js';
import { agent, newAgentKey } from '../support/agent.js';
import { bearer, createTestEnv, gql, tokenFor, wsClient, type TestApp, type TestEnv } from '../support/harness.js';

/** Strings PostgreSQL cannot store or UTF-8 cannot carry are refused at the edge, with the field named. */
let env: TestEnv;
let api: TestApp;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', overrides: { RATE_LIMIT_AGENT: '100000', RATE_LIMIT_GRAPHQL: '100000', RATE_LIMIT_STANDARD: '100000' } });
  key = await newAgentKey(api);
});
afterAll(() => env.cleanup());

const NUL = 'bad\u0000name';
const LONE = 'bad\uD800name';

async function raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; details?: { field?: string } }; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

describe('REST: every route of every route table', () => {
  it('refuses a NUL or a lone surrogate in a body or a query string with 400 naming the field', async () => {
    const routes = api.app.routes.flatMap(({ mount, routes }) => routes.map((r) => ({ method: r.method.toUpperCase(), path: `${mount === '/' ? '' : mount}${r.path}` })));
    expect(routes.length).toBeGreaterThan(5);
    for (const r of routes) {
      for (const bad of [NUL, LONE]) {
        const answer =
          r.method === 'GET' ? await raw('GET', `${r.path}?probe=${encodeURIComponent(bad.replace('\uD800', '\u0000'))}`) : await raw(r.method, r.path, { probe: bad, nested: [{ ok: 'fine' }] });
        expect([r.method, r.path, answer.status, answer.body.error?.details?.field]).toEqual([r.method, r.path, 400, 'probe']);
      }
    }
  });

  it('a report with one bad service name stores nothing, not even the good services', async () => {
    const ag = agent(api, key);
    const r = await ag.status({ nodeId: 'hostile/a', services: [{ name: 'good', status: 'OPERATIONAL' }, { name: LONE, status: 'OPERATIONAL' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.details.field).toBe('services[1].name');
    expect(await api.app.db.prisma.service.count({ where: { nodeId: 'hostile/a' } })).toBe(0);
    expect(await api.app.db.prisma.node.count({ where: { id: 'hostile/a' } })).toBe(0);
    // A key may be hostile too.
    const k = await ag.heartbeat({ nodeId: 'hostile/a', [`v\u0000`]: 1 });
    expect(k.status).toBe(400);
  });

  it('refuses timestamps outside 2000 to 2100, and each field keeps its own window', async () => {
    const ag = agent(api, key);
    await ag.status({ nodeId: 'hostile/dates', services: [{ name: 'db', status: 'OPERATIONAL' }] });
    const old = await ag.backup({ service: 'db', status: 'success', completedAt: '0000-01-01T00:00:00Z' });
    expect([old.status, old.body.error.details.field]).toEqual([400, 'completedAt']);
    const far = await ag.backup({ service: 'db', status: 'success', completedAt: '9999-12-31T23:59:59Z' });
    expect([far.status, far.body.error.details.field]).toEqual([400, 'completedAt']);
    expect(await api.app.db.prisma.backupReport.count()).toBe(0);
    const ancient = await ag.status({ nodeId: 'hostile/dates', observedAt: '1999-12-31T23:59:59Z', services: [{ name: 'db', status: 'OPERATIONAL' }] });
    expect([ancient.status, ancient.body.error.details.field]).toEqual([400, 'observedAt']);
    // The service still reads fine.
    const admin = bearer(await tokenFor(api, 'ADMIN'));
    const since = await gql(api.url, AuditLogDocument, { filter: { since: '0001-01-01T00:00:00Z' } }, admin);
    expect(since.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(since.errors?.[0]?.message).toMatch(/before 2000-01-01/);
  });
});

/** A value of `type` whose every string leaf is `bad`: what a client could put in that argument. */
function valueOf(type: GraphQLInputType, bad: string, depth = 0): unknown {
  if (isNonNullType(type)) return valueOf(type.ofType, bad, depth);
  if (isListType(type)) return [valueOf(type.ofType, bad, depth)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    if (depth > 3) return {};
    return Object.fromEntries(Object.values(type.getFields()).map((f) => [f.name, valueOf(f.type, bad, depth + 1)]));
  }
  if (isScalarType(type)) {
    if (type.name === 'Int' || type.name === 'Float') return 1;
    if (type.name === 'Boolean') return true;
    if (type.name === 'DateTimeISO') return '2026-01-01T00:00:00.000Z';
    return bad;
  }
  return bad;
}

describe('GraphQL: every argument of every root field, from the schema', () => {
  it('refuses a hostile string in any variable with 400 naming it', async () => {
    const schema = api.app.schema;
    let checked = 0;
    for (const [op, type] of [['query', schema.getQueryType()], ['mutation', schema.getMutationType()]] as const) {
      for (const field of Object.values((type as GraphQLObjectType).getFields())) {
        const withStrings = field.args.filter((a) => JSON.stringify(valueOf(a.type, NUL)).includes('\\u0000'));
        if (!withStrings.length) continue;
        const defs = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
        const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
        const selection = 'getFields' in getNamedType(field.type) ? '{ __typename }' : '';
        const query = `${op} (${defs}) { ${field.name}(${args}) ${selection} }`;
        for (const bad of [NUL, LONE]) {
          const variables = Object.fromEntries(field.args.map((a) => [a.name, valueOf(a.type, bad)]));
          const res = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
          const body = (await res.json()) as { errors?: { extensions?: { code?: string; field?: string } }[] };
          expect([field.name, res.status, body.errors?.[0]?.extensions?.code]).toEqual([field.name, 400, 'BAD_USER_INPUT']);
          expect(body.errors?.[0]?.extensions?.field).toMatch(/^variables\./);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('refuses a hostile string literal in the document, naming the argument', async () => {
    const res = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(await tokenFor(api, 'OPERATOR')) },
      body: JSON.stringify({ query: 'mutation { createTicket(input: { title: "x\\u0000y" }) { id } }' }),
    });
    const body = (await res.json()) as { errors: { message: string; extensions: { field?: string } }[] };
    expect(res.status).toBe(400);
    expect(body.errors[0]!.extensions.field).toBe('input.title');
    expect(body.errors[0]!.message).toMatch(/NUL/);
  });

  it('refuses a hostile variable of a subscription over the WebSocket', async () => {
    const client = wsClient(api.wsUrl, { authorization: `Bearer ${await tokenFor(api, 'VIEWER')}` });
    try {
      const errors = await new Promise<{ message: string; extensions?: { code?: string } }[]>((resolve, reject) => {
        client.subscribe(
          { query: print(OpsEventsDocument), variables: { types: [LONE] } },
          { next: (r) => resolve((r.errors ?? []) as never), error: (e) => resolve(e as never), complete: () => reject(new Error('completed without an answer')) },
        );
      });
      expect(errors[0]!.extensions?.code).toBe('BAD_USER_INPUT');
      expect(errors[0]!.message).toMatch(/variables\.types\[0\]/);
    } finally {
      await client.dispose();
    }
  });
});
