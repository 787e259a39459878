import { getIntrospectionQuery } from 'graphql';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTicketCommentDocument,
  CreateTicketDocument,
  IncidentsDocument,
  IncidentsGraphDocument,
  NodeActivityDocument,
  ServiceNamesDocument,
  ServicesGraphDocument,
  ServiceStatusGraphDocument,
  SlaGroupIncidentsDocument,
  SlaGroupsNumbersDocument,
  TicketsGraphDocument,
  UpdateSlaGroupTwiceDocument,
  type ServiceStatusGraphSubscription,
} from '../generated/graphql.js';
import { agent, newAgentKey } from '../support/agent.js';
import { FakeClock } from '../support/fake-clock.js';
import { ADMIN, bearer, createTestEnv, gql, login, probeOf, subscribeReady, tokenFor, waitFor, wsClient, type TestApp, type TestEnv } from '../support/harness.js';
import { activateTestLicense } from '../support/license.js';

const clock = new FakeClock('2026-02-07T14:00:00.000Z');
const STALE_MS = 90_000;
const NODES = ['org/graph/a', 'org/graph/b'] as const;
const SERVICES = 120;
const name = (i: number) => `svc-${String(i).padStart(3, '0')}`;
/** Every sixth service belongs to no group; the others to one of twenty. */
const groupOf = (i: number) => (i % 6 === 5 ? undefined : `grp-${i % 20}`);
const fleet = [...Array(SERVICES).keys()].map((i) => ({
  i,
  name: name(i),
  nodeId: NODES[i % 2]!,
  slaGroup: groupOf(i),
  namespace: `ns-${i % 3}`,
  displayName: i % 10 === 7 ? `Checkout ${i}` : `Service ${i}`,
}));

let env: TestEnv;
/** API only: no worker runs a job against the database while statements are counted. */
let a: TestApp;
let viewer: Record<string, string>;
let operator: Record<string, string>;
let operatorId: string;
let ag: ReturnType<typeof agent>;
let statements: ReturnType<typeof countStatements>;

/**
 * Every statement the app sends to PostgreSQL, Prisma's and the raw ones alike: both go through
 * clients of `app.db.pool`, each wrapped the first time it is checked out.
 */
function countStatements(pool: pg.Pool) {
  const wrapped = new WeakSet<object>();
  const log: string[] = [];
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query as (...args: unknown[]) => unknown;
    client.query = function (this: pg.PoolClient, ...args: unknown[]) {
      const q = args[0] as string | { text?: string };
      log.push(typeof q === 'string' ? q : (q.text ?? String(q)));
      return query.apply(this, args);
    } as typeof client.query;
  });
  return {
    async during<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
      const start = log.length;
      const result = await fn();
      return { result, sql: log.slice(start) };
    },
  };
}

/** One status report per node, stamped now, with the status `statusOf` gives each service. */
async function report(statusOf: (i: number) => string) {
  for (const nodeId of NODES) {
    const services = fleet
      .filter((s) => s.nodeId === nodeId)
      .map((s) => ({ name: s.name, status: statusOf(s.i), slaGroup: s.slaGroup, namespace: s.namespace, displayName: s.displayName }));
    // Groups are created by the slaGroups a report defines, never by a service naming one.
    const slaGroups = [...new Set(services.flatMap((s) => (s.slaGroup ? [s.slaGroup] : [])))].map((g) => ({ name: g }));
    const r = await ag.status({ nodeId, operatorVersion: '2.0.0', observedAt: clock.now().toISOString(), services, slaGroups });
    expect(r.status).toBe(200);
  }
}

beforeAll(async () => {
  env = await createTestEnv();
  a = await env.startApp({
    role: 'api',
    clock,
    // The license is read again every LICENSE_CACHE_SECONDS (wall clock): that read must not fall inside one count and not the other.
    overrides: { RATE_LIMIT_AGENT: '100000', AUTO_INCIDENT_TICKETS: 'false', STALE_AFTER_SECONDS: String(STALE_MS / 1000), LICENSE_CACHE_SECONDS: '300' },
  });
  await activateTestLicense(a, { now: clock.now(), plugins: ['ticketing'] });
  viewer = bearer(await tokenFor(a, 'VIEWER'));
  operator = bearer(await tokenFor(a, 'OPERATOR'));
  operatorId = (await a.app.db.prisma.user.findUniqueOrThrow({ where: { email: 'operator@opsgraph.test' } })).id;
  ag = agent(a, await newAgentKey(a));
  statements = countStatements(a.app.db.pool);

  // Up; all down (120 incidents); all up (closed); every fourth down again (30 open): 150 incidents.
  await report(() => 'OPERATIONAL');
  clock.advance(30_000);
  await report(() => 'MAJOR_OUTAGE');
  clock.advance(30_000);
  await report(() => 'OPERATIONAL');
  clock.advance(30_000);
  await report((i) => (i % 4 === 0 ? 'PARTIAL_OUTAGE' : 'OPERATIONAL'));
});
afterAll(() => env.cleanup());

const services = async () => a.app.db.prisma.service.findMany({ include: { slaGroup: true } });

describe('links', () => {
  it('Service.slaGroup and Service.node, null where a service has no group', async () => {
    const r = await gql(a.url, ServicesGraphDocument, { page: { limit: 100 }, incidents: 3 }, viewer);
    expect(r.errors).toBeUndefined();
    const rows = new Map((await services()).map((s) => [s.id, s]));
    const items = r.data!.services.items;
    expect(items).toHaveLength(100);
    for (const item of items) {
      const row = rows.get(item.id)!;
      expect(item.slaGroup?.id ?? null).toBe(row.slaGroupId);
      expect(item.slaGroup?.name ?? null).toBe(row.slaGroup?.name ?? null);
      expect(item.node).toMatchObject({ id: row.nodeId, lastReportAt: clock.now().toISOString(), status: 'ONLINE' });
    }
    expect(items.filter((s) => s.slaGroup === null).map((s) => s.serviceName)).toEqual(fleet.filter((s) => !s.slaGroup && s.i < 100).map((s) => s.name));
    // The group behind the link is the group: its members and its numbers, as slaGroups gives them.
    const grp0 = items.find((s) => s.serviceName === 'svc-000')!.slaGroup!;
    expect(grp0.services.map((s) => s.id).sort()).toEqual([...rows.values()].filter((s) => s.slaGroup?.name === 'grp-0').map((s) => s.id).sort());
    const groups = (await gql(a.url, SlaGroupsNumbersDocument, {}, viewer)).data!.slaGroups;
    expect({ status: grp0.status, currentUptime: grp0.currentUptime }).toEqual({ status: groups.find((g) => g.name === 'grp-0')!.status, currentUptime: groups.find((g) => g.name === 'grp-0')!.currentUptime });
    expect(grp0.currentUptime).not.toBeNull();
  });

  it('Incident.service is the incident service, with its own links', async () => {
    const r = await gql(a.url, IncidentsGraphDocument, { page: { limit: 100 } }, viewer);
    expect(r.errors).toBeUndefined();
    expect(r.data!.incidents.pageInfo.total).toBe(150);
    const rows = new Map((await services()).map((s) => [s.id, s]));
    for (const i of r.data!.incidents.items) {
      const row = rows.get(i.serviceId)!;
      expect(i.service).toEqual({ id: row.id, serviceName: row.name, slaGroup: row.slaGroup ? { id: row.slaGroup.id, name: row.slaGroup.name } : null, node: { id: row.nodeId, status: 'ONLINE' } });
      expect(i.slaGroupId).toBe(row.slaGroupId);
    }
  });

  it('SlaGroup.incidents: newest first, bounded by limit, open or closed only, the same as incidents(filter: { slaGroupId })', async () => {
    const grp = await a.app.db.prisma.slaGroup.findUniqueOrThrow({ where: { name: 'grp-0' } });
    const all = (await gql(a.url, IncidentsDocument, { filter: { slaGroupId: grp.id }, page: { limit: 100 } }, viewer)).data!.incidents.items;
    // Each member of grp-0 went down once, and those with i % 4 = 0 are down again.
    const members = fleet.filter((s) => s.slaGroup === 'grp-0');
    expect(all).toHaveLength(members.length + members.filter((s) => s.i % 4 === 0).length);

    const ask = async (open: boolean | null, limit?: number) => {
      const r = await gql(a.url, SlaGroupIncidentsDocument, { id: grp.id, open, limit }, viewer);
      expect(r.errors).toBeUndefined();
      return r.data!.slaGroup.incidents;
    };
    // Newest first like the root list; 20 by default.
    expect(all.length).toBeGreaterThan(5);
    expect(await ask(null)).toEqual(all.slice(0, 20));
    expect(await ask(null, 5)).toEqual(all.slice(0, 5));
    expect(await ask(null, 100)).toEqual(all);
    const open = await ask(true, 100);
    expect(open).toEqual(all.filter((i) => i.endedAt === null));
    expect(open.length).toBe(members.filter((s) => s.i % 4 === 0).length);
    expect(await ask(false, 100)).toEqual(all.filter((i) => i.endedAt !== null));
    const started = (await ask(null, 100)).map((i) => i.startedAt);
    expect(started).toEqual([...started].sort().reverse());

    for (const limit of [0, 101]) {
      const bad = await gql(a.url, SlaGroupIncidentsDocument, { id: grp.id, limit }, viewer);
      expect(bad.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    }
    // A group without incidents has an empty list, not an error.
    const quiet = await a.app.db.prisma.slaGroup.create({ data: { name: 'quiet', displayName: 'Quiet' } });
    expect(await gql(a.url, SlaGroupIncidentsDocument, { id: quiet.id }, viewer).then((r) => r.data!.slaGroup.incidents)).toEqual([]);
    await a.app.db.prisma.slaGroup.delete({ where: { id: quiet.id } });
  });

  it('Ticket.service, Ticket.assignee and TicketComment.author, null where there is none; users show only id and email', async () => {
    const svc = await a.app.db.prisma.service.findFirstOrThrow({ where: { name: 'svc-001' }, include: { slaGroup: true } });
    const linked = (await gql(a.url, CreateTicketDocument, { input: { title: 'linked', serviceId: svc.id, assigneeId: operatorId } }, operator)).data!.createTicket;
    await gql(a.url, AddTicketCommentDocument, { id: linked.id, input: { body: 'looking' } }, operator);
    // A comment the system wrote has no author.
    await a.app.db.prisma.ticketComment.create({ data: { ticketId: linked.id, authorId: null, body: 'automatic note', createdAt: new Date(clock.now().getTime() + 1) } });
    const bare = (await gql(a.url, CreateTicketDocument, { input: { title: 'bare' } }, operator)).data!.createTicket;

    const r = await gql(a.url, TicketsGraphDocument, { filter: { search: 'linked' } }, viewer);
    expect(r.errors).toBeUndefined();
    expect(r.data!.tickets.items).toEqual([
      {
        id: linked.id,
        title: 'linked',
        serviceId: svc.id,
        service: { id: svc.id, serviceName: 'svc-001', slaGroup: { id: svc.slaGroupId, name: svc.slaGroup!.name }, node: { id: svc.nodeId } },
        assigneeId: operatorId,
        assignee: { id: operatorId, email: 'operator@opsgraph.test' },
        comments: [
          { id: expect.any(String), authorId: operatorId, author: { id: operatorId, email: 'operator@opsgraph.test' }, body: 'looking' },
          { id: expect.any(String), authorId: null, author: null, body: 'automatic note' },
        ],
      },
    ]);
    const none = (await gql(a.url, TicketsGraphDocument, { filter: { search: 'bare' } }, viewer)).data!.tickets.items;
    expect(none).toEqual([{ id: bare.id, title: 'bare', serviceId: null, service: null, assigneeId: null, assignee: null, comments: [] }]);

    // Viewers may not list users (role, state, dates are for admins): a user behind a link is a TicketUser.
    const ticketUser = a.app.schema.getType('TicketUser') as unknown as { getFields(): Record<string, unknown> };
    expect(Object.keys(ticketUser.getFields()).sort()).toEqual(['email', 'id']);
    const leak = await fetch(`${a.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...viewer },
      body: JSON.stringify({ query: '{ tickets { items { assignee { id role disabled } } } }' }),
    });
    expect(leak.status).toBe(400);
    await a.app.db.prisma.ticket.deleteMany({ where: { id: { in: [linked.id, bare.id] } } });
  });

  it('links answer in subscriptions too, read when the event is delivered', async () => {
    const client = wsClient(a.wsUrl, { authorization: viewer.authorization });
    // Live once a probe status change (of a service on a node that exists, for Service.node) has come through it.
    const { received } = await subscribeReady(client, ServiceStatusGraphDocument, {}, probeOf.statusChanged(a, NODES[1]), {
      pick: (d: ServiceStatusGraphSubscription) => d.serviceStatusChanged,
    });
    const r = await ag.status({ nodeId: NODES[1], observedAt: clock.now().toISOString(), services: [{ name: 'svc-001', status: 'DEGRADED', slaGroup: 'grp-1' }] });
    expect(r.body).toMatchObject({ changed: 1 });
    await waitFor(() => received.length === 1, 3_000);
    expect(received[0]).toEqual({
      service: { id: expect.any(String), serviceName: 'svc-001', slaGroup: { id: expect.any(String), name: 'grp-1' }, node: { id: NODES[1], lastReportAt: clock.now().toISOString(), status: 'ONLINE' } },
      previousStatus: 'OPERATIONAL',
      status: 'DEGRADED',
    });
    await client.dispose();
    await ag.status({ nodeId: NODES[1], observedAt: clock.now().toISOString(), services: [{ name: 'svc-001', status: 'OPERATIONAL', slaGroup: 'grp-1' }] });
  });

  it("a mutation's links are read after each of its fields, never from the request's cache", async () => {
    const admin = bearer((await login(a.url, ADMIN.email, ADMIN.password)).token);
    const grp = await a.app.db.prisma.slaGroup.findUniqueOrThrow({ where: { name: 'grp-2' } });
    // Down for 30 s of the month: far beyond a budget of 99.9999 %, well within one of 10 %.
    const r = await gql(a.url, UpdateSlaGroupTwiceDocument, { id: grp.id, first: { targetUptime: 99.9999 }, second: { targetUptime: 10 } }, admin);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ first: { id: grp.id, targetUptime: 99.9999, status: 'BREACHED' }, second: { id: grp.id, targetUptime: 10, status: 'MET' } });
    await gql(a.url, UpdateSlaGroupTwiceDocument, { id: grp.id, first: { targetUptime: 10 }, second: { targetUptime: null } }, admin);
  });
});

describe('cycles', () => {
  const post = async (query: string, headers = viewer) => {
    const res = await fetch(`${a.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
    return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions: { code: string } }[] } };
  };

  it('a path may follow each link once: going round Service.slaGroup and SlaGroup.services again is refused, whatever the spelling', async () => {
    const refused = [
      '{ services { items { slaGroup { services { slaGroup { name } } } } } }',
      '{ slaGroups { services { slaGroup { services { id } } } } }',
      '{ incidents { items { service { slaGroup { incidents { service { id } } } } } } }',
      '{ services { items { ...G } } } fragment G on Service { slaGroup { services { ...H } } } fragment H on Service { again: slaGroup { id } }',
      '{ services { items { slaGroup { services { ... on Service { slaGroup { id } } } } } } }',
    ];
    for (const query of refused) {
      const r = await post(query);
      expect([query, r.status]).toEqual([query, 400]);
      expect(r.body.errors![0]!).toMatchObject({ message: expect.stringMatching(/is followed twice on one path/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    }
    // Different links to the same type, each once, are fine; so are siblings.
    const allowed = [
      '{ services { items { slaGroup { services { node { id } } incidents { service { node { id } } } } node { id } } } }',
      '{ slaGroups { services { slaGroup { id } } incidents { service { slaGroup { id } } } } }',
    ];
    for (const query of allowed) {
      const r = await post(query);
      expect([query, r.status, r.body.errors]).toEqual([query, 200, undefined]);
    }
  });

  it('introspection (ofType { ofType { ... } }) is not a cycle', async () => {
    const r = await post(getIntrospectionQuery());
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
  });
});

describe('statements per list', () => {
  it('services with slaGroup (members, numbers, incidents with their service) and node: as many statements for 100 as for 10', async () => {
    const run = (limit: number) =>
      statements.during(async () => {
        const r = await gql(a.url, ServicesGraphDocument, { page: { limit }, incidents: 5 }, viewer);
        expect(r.errors).toBeUndefined();
        expect(r.data!.services.items).toHaveLength(limit);
        return r.data!.services.items;
      });
    await run(10); // warm: the first request of a connection may prepare what later ones reuse
    const ten = await run(10);
    const hundred = await run(100);
    // Both lists follow every kind of link (no group, both nodes); the longer one to far more groups.
    const groups = (list: typeof ten.result) => new Set(list.flatMap((s) => (s.slaGroup ? [s.slaGroup.id] : []))).size;
    expect([groups(ten.result), groups(hundred.result)]).toEqual([9, 20]);
    for (const list of [ten.result, hundred.result]) {
      expect(list.some((s) => s.slaGroup === null)).toBe(true);
      expect(new Set(list.map((s) => s.node.id)).size).toBe(2);
    }
    expect(ten.sql.length).toBeGreaterThan(0);
    expect(hundred.sql).toHaveLength(ten.sql.length);
    expect(ten.sql.length).toBeLessThanOrEqual(16);
  });

  it('incidents with service, its group and its node: as many statements for 100 as for 10', async () => {
    const run = (limit: number) =>
      statements.during(async () => {
        const r = await gql(a.url, IncidentsGraphDocument, { page: { limit } }, viewer);
        expect(r.errors).toBeUndefined();
        expect(r.data!.incidents.items).toHaveLength(limit);
      });
    await run(10);
    const ten = await run(10);
    const hundred = await run(100);
    expect(ten.sql.length).toBeGreaterThan(0);
    expect(hundred.sql).toHaveLength(ten.sql.length);
  });

  it('tickets with service (and its group and node), assignee and comment authors: as many statements for 100 as for 10', async () => {
    const rows = await a.app.db.prisma.service.findMany({ orderBy: { name: 'asc' } });
    const now = clock.now();
    await a.app.db.prisma.ticket.createMany({
      data: [...Array(100).keys()].map((k) => ({
        title: `bulk ${k}`,
        serviceId: k % 7 === 0 ? null : rows[k]!.id,
        assigneeId: k % 3 === 0 ? null : operatorId,
        createdAt: new Date(now.getTime() - k * 1000),
        updatedAt: now,
      })),
    });
    const tickets = await a.app.db.prisma.ticket.findMany({ where: { title: { startsWith: 'bulk ' } } });
    await a.app.db.prisma.ticketComment.createMany({ data: tickets.map((t, k) => ({ ticketId: t.id, authorId: k % 2 ? operatorId : null, body: 'note', createdAt: now })) });
    const run = (limit: number) =>
      statements.during(async () => {
        const r = await gql(a.url, TicketsGraphDocument, { filter: { search: 'bulk' }, page: { limit } }, viewer);
        expect(r.errors).toBeUndefined();
        expect(r.data!.tickets.items).toHaveLength(limit);
      });
    await run(10);
    const ten = await run(10);
    const hundred = await run(100);
    expect(ten.sql.length).toBeGreaterThan(0);
    expect(hundred.sql).toHaveLength(ten.sql.length);
  });
});

describe('services(filter: { name, search })', () => {
  const names = async (filter: Record<string, unknown>) => {
    const r = await gql(a.url, ServiceNamesDocument, { filter }, viewer);
    expect(r.errors).toBeUndefined();
    return r.data!.services.items.map((s) => s.serviceName);
  };
  const expected = (keep: (s: (typeof fleet)[number]) => boolean) => fleet.filter(keep).map((s) => s.name).slice(0, 100);

  it('name matches exactly', async () => {
    expect(await names({ name: 'svc-007' })).toEqual(['svc-007']);
    expect(await names({ name: 'svc-00' })).toEqual([]);
    expect(await names({ name: 'SVC-007' })).toEqual([]);
    expect(await names({ name: 'svc-007', nodeId: NODES[0] })).toEqual([]);
    expect(await names({ name: 'svc-007', nodeId: NODES[1] })).toEqual(['svc-007']);
  });

  it('search is a case-insensitive part of the name, the display name or the namespace, with the other filters', async () => {
    expect(await names({ search: 'SVC-01' })).toEqual(expected((s) => s.name.includes('svc-01')));
    expect(await names({ search: 'checkout' })).toEqual(expected((s) => s.displayName.startsWith('Checkout')));
    expect(await names({ search: 'Ns-2' })).toEqual(expected((s) => s.namespace === 'ns-2'));
    expect(await names({ search: 'heckout 1', nodeId: NODES[1] })).toEqual(expected((s) => s.displayName.startsWith('Checkout 1') && s.nodeId === NODES[1]));
    // LIKE's wildcards are taken literally.
    expect(await names({ search: 'svc_00' })).toEqual([]);
    expect(await names({ search: '%' })).toEqual([]);
    expect(await names({ search: '' })).toHaveLength(100);
    const bad = await gql(a.url, ServiceNamesDocument, { filter: { search: 'x'.repeat(256) } }, viewer);
    expect(bad.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });
});

describe('Node.lastReportAt and status', () => {
  const node = 'org/graph/solo';
  const activity = async () => {
    const token = (await login(a.url, 'viewer@opsgraph.test', 'a-long-enough-password')).token;
    const r = await gql(a.url, NodeActivityDocument, {}, bearer(token));
    return r.data!.nodes.find((n) => n.id === node);
  };

  it('lastReportAt is the newest report, lastHeartbeatAt the last heartbeat; ONLINE while the newer of the two is within the stale limit', async () => {
    const t0 = clock.now().toISOString();
    expect((await ag.status({ nodeId: node, operatorVersion: '3.1.0', observedAt: t0, services: [{ name: 'solo', status: 'OPERATIONAL' }] })).status).toBe(200);
    expect(await activity()).toEqual({ id: node, operatorVersion: '3.1.0', lastHeartbeatAt: null, lastReportAt: t0, status: 'ONLINE' });

    // A replayed, older report does not move it back (nor its version).
    const older = new Date(clock.now().getTime() - 60_000).toISOString();
    expect((await ag.status({ nodeId: node, operatorVersion: '3.0.0', observedAt: older, services: [{ name: 'solo', status: 'OPERATIONAL' }] })).status).toBe(200);
    expect(await activity()).toMatchObject({ operatorVersion: '3.1.0', lastReportAt: t0 });

    // Exactly at the limit still ONLINE; past it OFFLINE.
    clock.advance(STALE_MS);
    expect((await activity())!.status).toBe('ONLINE');
    clock.advance(1);
    expect((await activity())!.status).toBe('OFFLINE');

    // A heartbeat is a sign of life of its own.
    expect((await ag.heartbeat({ nodeId: node, version: '3.1.0' })).status).toBe(200);
    const hb = clock.now().toISOString();
    expect(await activity()).toMatchObject({ lastHeartbeatAt: hb, lastReportAt: t0, status: 'ONLINE' });
    clock.advance(STALE_MS + 1);
    expect((await activity())!.status).toBe('OFFLINE');

    // A live report after a silent stretch: ONLINE again from the report, the heartbeat left as it was.
    const t1 = clock.now().toISOString();
    expect((await ag.status({ nodeId: node, observedAt: t1, services: [{ name: 'solo', status: 'OPERATIONAL' }] })).status).toBe(200);
    expect(await activity()).toMatchObject({ lastHeartbeatAt: hb, lastReportAt: t1, status: 'ONLINE' });
    // A report older than the stale limit is a sign of the agent's past, not of it being online now.
    clock.advance(STALE_MS + 1);
    const replay = new Date(clock.now().getTime() - STALE_MS - 1).toISOString();
    expect((await ag.status({ nodeId: node, observedAt: replay, services: [{ name: 'solo', status: 'OPERATIONAL' }] })).status).toBe(200);
    expect(await activity()).toMatchObject({ lastReportAt: t1, status: 'OFFLINE' });
  });
});
