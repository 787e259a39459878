import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodesDocument, SeedSlaGroupsDocument, ServiceDocument, SnapshotTrendDocument, TrendDataDocument, ServiceStatusChangedDocument, ServicesDocument, type ServiceStatusChangedSubscription } from '../generated/graphql.js';
import { agent, newAgentKey } from '../support/agent.js';
import { activateTestLicense } from '../support/license.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearer, createTestEnv, gql, login, probeOf, queueIdle, subscribeReady, tokenFor, waitFor, wsClient, type TestApp, type TestEnv } from '../support/harness.js';
import { systemActor } from '../../src/auth/actor.js';

const NODE = 'myorg/platform/prod/cluster1';
const clock = new FakeClock('2026-02-07T14:00:00.000Z');
let env: TestEnv;
let a: TestApp;
let b: TestApp;
let viewer: string;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  const overrides = { MAX_SERVICES_PER_REPORT: '50', RATE_LIMIT_AGENT: '100000' };
  [a, b] = await Promise.all([env.startApp({ role: 'all', clock, overrides }), env.startApp({ role: 'api', clock, overrides })]);
  // slaSnapshotTrend and slaTrendData belong to the sla plugin.
  await activateTestLicense(a, { now: clock.now(), plugins: ['sla'] });
  viewer = await tokenFor(a, 'VIEWER');
  key = await newAgentKey(a);
});
afterAll(() => env.cleanup());

const db = () => a.app.db.prisma;
/** Access tokens follow the fake clock: after it moves, log in again. */
const freshViewer = async () => (await login(a.url, 'viewer@opsgraph.test', 'a-long-enough-password')).token;
const at = (offsetSeconds: number) => new Date(clock.now().getTime() + offsetSeconds * 1000).toISOString();

async function runJob(name: string) {
  const job = await a.app.jobs.enqueueByName(name, {});
  await waitFor(async () => ['completed', 'failed'].includes(await job.getState()));
  expect(await job.getState()).toBe('completed');
}

async function history(nodeId: string) {
  const rows = await db().statusChange.findMany({ where: { service: { nodeId } }, include: { service: { select: { name: true } } }, orderBy: [{ at: 'asc' }] });
  return rows.map((r) => `${r.service.name}@${r.at.toISOString()}=${r.status}`).sort();
}

describe('the seed payloads', () => {
  it('status, heartbeat, register and services answer as documented', async () => {
    const ag = agent(a, key);
    const status = await ag.status({
      nodeId: NODE,
      operatorVersion: '1.0.0',
      services: [{ name: 'my-api', status: 'OPERATIONAL', replicas: 3, readyReplicas: 3, slaGroup: 'payment-system', workloadType: 'Deployment' }],
      slaGroups: [{ name: 'payment-system', displayName: 'Payment System', tier: 'critical' }],
    });
    expect(status.status).toBe(200);
    expect(status.body).toEqual({ success: true, processed: 1, changed: 1 });
    expect(status.headers.get('x-ratelimit-limit')).toBe(String(a.app.config.RATE_LIMIT_AGENT));

    const hb = await ag.heartbeat({ nodeId: NODE, version: '1.0.0', watchedServices: 7, healthyServices: 6, unhealthyServices: 1 });
    expect(hb).toMatchObject({ status: 200, body: { success: true } });

    const reg = { name: 'my-database', displayName: 'My Database', nodeId: NODE, criticality: 'critical', operations: { backup: { expected: true, maxAgeDays: 1 } } };
    const created = await ag.register(reg);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ success: true, service: { serviceName: 'my-database', displayName: 'My Database', nodeId: NODE, backupStatus: { backupExpected: true, backupMaxAgeDays: 1, backupOverdue: true } } });
    expect((await ag.register(reg)).status).toBe(200);

    const listed = await ag.services(NODE);
    expect(listed.status).toBe(200);
    expect(listed.body.services).toEqual([
      { name: 'my-api', displayName: null, namespace: null, criticality: null, slaGroup: 'payment-system', operations: { backup: { expected: false, maxAgeDays: 1 } } },
      { name: 'my-database', displayName: 'My Database', namespace: null, criticality: 'critical', slaGroup: null, operations: { backup: { expected: true, maxAgeDays: 1 } } },
    ]);

    const nodes = await gql(a.url, NodesDocument, {}, bearer(viewer));
    expect(nodes.data?.nodes).toEqual([
      { id: NODE, operatorVersion: '1.0.0', lastHeartbeatAt: clock.now().toISOString(), status: 'ONLINE', watchedServices: 7, healthyServices: 6, unhealthyServices: 1 },
    ]);

    const groups = await gql(a.url, SeedSlaGroupsDocument, {}, bearer(viewer));
    expect(groups.errors).toBeUndefined();
    expect(groups.data?.slaGroups).toEqual([
      {
        id: expect.any(String),
        name: 'payment-system',
        displayName: 'Payment System',
        tier: 'critical',
        // Reported this instant: no up or down time yet.
        status: 'NO_DATA',
        currentUptime: null,
        services: [
          {
            serviceName: 'my-api',
            status: 'OPERATIONAL',
            replicas: 3,
            readyReplicas: 3,
            backupStatus: { backupExpected: false, lastBackupAt: null, lastBackupStatus: null, backupMaxAgeDays: 1, backupOverdue: false },
          },
        ],
      },
    ]);
  });

  it('backup reports at service, group and namespace level reach every member, idempotently', async () => {
    const ag = agent(a, key);
    const node = 'org/backups/cluster';
    await ag.status({
      nodeId: node,
      services: [
        { name: 'db-1', status: 'OPERATIONAL', slaGroup: 'data', namespace: 'production' },
        { name: 'db-2', status: 'OPERATIONAL', slaGroup: 'data', namespace: 'production' },
        { name: 'cache-1', status: 'OPERATIONAL', namespace: 'production' },
      ],
      slaGroups: [{ name: 'data' }],
    });
    const service = await ag.backup({ service: 'db-1', status: 'success', sizeBytes: 5242880, message: 'pg_dump completed', nodeId: node });
    expect(service).toMatchObject({ status: 200, body: { success: true, message: 'backup report recorded for 1 service', affected: 1, services: ['org/backups/cluster/db-1'] } });

    const group = await ag.backup({ slaGroup: 'data', status: 'partial' });
    expect(group.body).toEqual({ success: true, message: 'backup report recorded for 2 services', affected: 2, services: ['org/backups/cluster/db-1', 'org/backups/cluster/db-2'] });

    const namespace = await ag.backup({ namespace: 'production', status: 'success', reportId: 'nightly-42' });
    expect(namespace.body).toEqual({ success: true, message: 'backup report recorded for 3 services', affected: 3, services: ['org/backups/cluster/cache-1', 'org/backups/cluster/db-1', 'org/backups/cluster/db-2'] });

    // The same reportId again, and the same body again within a minute: one record each.
    await ag.backup({ namespace: 'production', status: 'success', reportId: 'nightly-42', message: 'retried' });
    await ag.backup({ slaGroup: 'data', status: 'partial' });
    const reports = await db().backupReport.count({ where: { service: { nodeId: node } } });
    expect(reports).toBe(1 + 2 + 3);

    const services = await db().service.findMany({ where: { nodeId: node }, orderBy: { name: 'asc' } });
    expect(services.map((s) => [s.name, s.lastBackupStatus, s.lastBackupAt?.toISOString()])).toEqual([
      ['cache-1', 'success', clock.now().toISOString()],
      ['db-1', 'success', clock.now().toISOString()],
      ['db-2', 'success', clock.now().toISOString()],
    ]);

    const missing = await ag.backup({ slaGroup: 'no-such-group', status: 'success' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'ERR_1002', details: { field: 'slaGroup', value: 'no-such-group' } });
  });
});

describe('who may report', () => {
  it('keeps a node-bound key to its node, refuses revoked keys, people and strangers, and writes nothing', async () => {
    const boundKey = await newAgentKey(a, 'org/node-a');
    const bound = agent(a, boundKey);
    expect((await bound.heartbeat({ nodeId: 'org/node-a' })).status).toBe(200);
    const before = await db().node.count();
    const other = await bound.status({ nodeId: 'org/node-b', services: [{ name: 'x', status: 'OPERATIONAL' }] });
    expect(other.status).toBe(403);
    expect(other.body.error).toMatchObject({ code: 'ERR_1004', details: { field: 'nodeId' } });
    expect((await bound.heartbeat({ nodeId: 'org/node-b' })).status).toBe(403);
    expect((await bound.register({ name: 'x', nodeId: 'org/node-b' })).status).toBe(403);
    expect((await bound.services('org/node-b')).status).toBe(403);
    expect((await bound.backup({ service: 'x', nodeId: 'org/node-b', status: 'success' })).status).toBe(403);
    expect(await db().node.count()).toBe(before);

    // A backup job's key limited to its scope cannot post statuses.
    const backupOnly = agent(a, (await a.app.auth.apiKeys.create({ name: 'nightly job', scopes: ['backup'] }, systemActor('test'))).secret);
    const refused = await backupOnly.status({ nodeId: 'org/node-c', services: [{ name: 'x', status: 'OPERATIONAL' }] });
    expect(refused.status).toBe(403);
    expect(refused.body.error.details).toEqual({ scope: 'operator' });
    expect((await backupOnly.backup({ service: 'no-such-service', status: 'success' })).status).toBe(404);

    const revokedKey = await newAgentKey(a);
    const { apiKey } = { apiKey: (await a.app.auth.apiKeys.list()).find((k) => revokedKey.includes(k.prefix))! };
    await a.app.auth.apiKeys.revoke(apiKey.id, systemActor('test'));
    expect((await agent(a, revokedKey).heartbeat({ nodeId: 'org/node-c' })).status).toBe(401);
    expect((await agent(a, viewer).heartbeat({ nodeId: 'org/node-c' })).status).toBe(403);
    const anonymous = await fetch(`${a.url}/api/v1/operator/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"nodeId":"org/node-c"}' });
    expect(anonymous.status).toBe(401);
    expect(await db().node.count({ where: { id: 'org/node-c' } })).toBe(0);
  });
});

describe('bad input gets a 4xx naming the field and writes nothing', () => {
  const svc = (name: string) => ({ name, status: 'OPERATIONAL' });
  it.each([
    ['an unknown status', { nodeId: 'org/bad', services: [{ name: 'a', status: 'ON_FIRE' }] }, 'services[0].status'],
    ['no nodeId', { services: [svc('a')] }, 'nodeId'],
    ['too many services', { nodeId: 'org/bad', services: Array.from({ length: 51 }, (_, i) => svc(`s${i}`)) }, 'services'],
    ['observedAt two days old', { nodeId: 'org/bad', observedAt: '2026-02-05T14:00:00.000Z', services: [svc('a')] }, 'observedAt'],
    ['observedAt ten minutes ahead', { nodeId: 'org/bad', observedAt: '2026-02-07T14:10:00.000Z', services: [svc('a')] }, 'observedAt'],
    ['a service listed twice', { nodeId: 'org/bad', services: [svc('a'), svc('a')] }, 'services[1].name'],
  ])('status with %s', async (_name, body, field) => {
    const res = await agent(a, key).status(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'ERR_1001', details: { field } });
    expect(await db().node.count({ where: { id: 'org/bad' } })).toBe(0);
  });

  it('a webhook naming two targets, and a body that is not JSON', async () => {
    const before = await db().backupReport.count();
    const two = await agent(a, key).backup({ service: 'db-1', slaGroup: 'data', status: 'success' });
    expect(two.status).toBe(400);
    expect(two.body.error.details.field).toBe('slaGroup');
    const notJson = await agent(a, key).backup('{"service": "db-1", ');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatchObject({ code: 'ERR_1001', details: { field: 'body' } });
    expect(await db().backupReport.count()).toBe(before);
  });
});

describe('history', () => {
  it('marks a silent node UNKNOWN at lastSeen + staleAfterSeconds, whenever the sweep runs', async () => {
    const node = 'org/silent';
    await agent(a, key).status({ nodeId: node, observedAt: at(-10), services: [{ name: 'quiet', status: 'DEGRADED' }] });
    clock.advance(300_000);
    await runJob('sla.sweep-stale');
    expect(await history(node)).toEqual([`quiet@${at(-310)}=DEGRADED`, `quiet@${at(-220)}=UNKNOWN`]);
    const s = await db().service.findFirstOrThrow({ where: { nodeId: node } });
    expect(s.status).toBe('UNKNOWN');
    // Running it again changes nothing.
    await runJob('sla.sweep-stale');
    expect(await history(node)).toHaveLength(2);
  });

  it('keeps the stale instant of a silence when the next report comes late and no sweep ran in between', async () => {
    const node = 'org/late-after-silence';
    await agent(a, key).status({ nodeId: node, observedAt: at(0), services: [{ name: 'svc', status: 'OPERATIONAL' }] });
    const t0 = at(0);
    clock.advance(7 * 60_000);
    await agent(a, key).status({ nodeId: node, observedAt: at(-120), services: [{ name: 'svc', status: 'OPERATIONAL' }] });
    const h = await history(node);
    expect(h).toEqual([`svc@${t0}=OPERATIONAL`, `svc@${new Date(Date.parse(t0) + 90_000).toISOString()}=UNKNOWN`, `svc@${at(-120)}=OPERATIONAL`, `svc@${at(-30)}=UNKNOWN`].sort());
  });

  it('1,000 reports shuffled and duplicated leave the same history and state as in order', async () => {
    const start = clock.now().getTime() - 20 * 3_600_000;
    const names = ['api', 'db', 'queue'];
    const statuses = ['OPERATIONAL', 'OPERATIONAL', 'OPERATIONAL', 'DEGRADED', 'MAJOR_OUTAGE', 'MAINTENANCE'];
    // mulberry32: a seeded generator, so a failure replays the same reports.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) % n;
    };
    let t = start;
    const reports = Array.from({ length: 1000 }, () => {
      t += rand(10) === 0 ? 200_000 : 30_000; // now and then a silence longer than 90 s
      return { observedAt: new Date(t).toISOString(), services: names.filter(() => rand(4) > 0).map((name) => ({ name, status: statuses[rand(statuses.length)]! })) };
    });
    const shuffled = [...reports, ...reports.filter(() => rand(5) === 0)];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    // The two nodes are independent: both deliveries run at once.
    const inOrder = agent(a, key);
    const deliveries = [agent(a, key), agent(b, key)];
    await Promise.all([
      (async () => {
        for (const r of reports) expect((await inOrder.status({ nodeId: 'org/in-order', ...r })).status).toBe(200);
      })(),
      (async () => {
        for (let i = 0; i < shuffled.length; i += 8) {
          const batch = shuffled.slice(i, i + 8);
          const answers = await Promise.all(batch.map((r, k) => deliveries[k % 2]!.status({ nodeId: 'org/shuffled', ...r })));
          expect(answers.every((x) => x.status === 200)).toBe(true);
        }
      })(),
    ]);
    await runJob('sla.sweep-stale');

    const [h1, h2] = await Promise.all([history('org/in-order'), history('org/shuffled')]);
    expect(h1.length).toBeGreaterThan(100);
    expect(h2).toEqual(h1);
    const state = async (nodeId: string) =>
      (await db().service.findMany({ where: { nodeId }, orderBy: { name: 'asc' } })).map((s) => [s.name, s.status, s.reportedStatus, s.lastSeenAt?.toISOString()]);
    expect(await state('org/shuffled')).toEqual(await state('org/in-order'));
    const stored = async (nodeId: string) =>
      (await db().incident.findMany({ where: { service: { nodeId } }, include: { service: { select: { name: true } } } }))
        .map((i) => `${i.service.name}@${i.startedAt.toISOString()}-${i.endedAt?.toISOString() ?? 'open'}`)
        .sort();
    const incidents = await stored('org/in-order');
    expect(incidents.length).toBeGreaterThan(10);
    expect(await stored('org/shuffled')).toEqual(incidents);

    // And so the SLA answers, byte for byte.
    const token = await freshViewer();
    const answers = async (nodeId: string) => {
      const out: string[] = [];
      for (const s of await db().service.findMany({ where: { nodeId }, orderBy: { name: 'asc' } })) {
        const trend = await gql(a.url, SnapshotTrendDocument, { serviceId: s.id, hoursBack: 24 }, bearer(token));
        const days = await gql(a.url, TrendDataDocument, { filter: { periodType: 'DAILY', monthsBack: 1, serviceId: s.id } }, bearer(token));
        expect(trend.errors ?? days.errors).toBeUndefined();
        out.push(JSON.stringify(trend.data), JSON.stringify(days.data));
      }
      return out;
    };
    const inOrderAnswers = await answers('org/in-order');
    expect(inOrderAnswers.join('')).toMatch(/"actualValue":\d/);
    expect(await answers('org/shuffled')).toEqual(inOrderAnswers);
  }, 120_000);
});

describe('backup freshness', () => {
  it('turns backupOverdue on and off with time, raising sla:alert once per episode', async () => {
    const node = 'org/fresh';
    const ag = agent(a, key);
    await ag.register({ name: 'pg', nodeId: node, operations: { backup: { expected: true, maxAgeDays: 1 } } });
    const overdue = async () => (await db().service.findFirstOrThrow({ where: { nodeId: node } })).backupOverdue;
    expect(await overdue()).toBe(true);

    const client = wsClient(b.wsUrl, { authorization: `Bearer ${await freshViewer()}` });
    // Live once a probe sla:alert has come through it.
    const alerts = await subscribeReady(client, 'subscription { opsEvents(types: ["sla:alert"]) { type payload } }', {}, probeOf.slaAlert(a), {
      pick: (d: { opsEvents: { type: string; payload: { status: string } } }) => d.opsEvents,
    });
    const events = alerts.received;

    await ag.backup({ service: 'pg', nodeId: node, status: 'success' });
    expect(await overdue()).toBe(false);
    clock.advance(2 * 86_400_000);
    await runJob('backups.freshness');
    expect(await overdue()).toBe(true);
    await runJob('backups.freshness');
    await ag.backup({ service: 'pg', nodeId: node, status: 'failed' });
    expect(await overdue()).toBe(true);
    // Not the same body as before: that one, within a minute, would be taken for a duplicate delivery.
    await ag.backup({ service: 'pg', nodeId: node, status: 'success', message: 'rerun' });
    expect(await overdue()).toBe(false);

    await waitFor(() => events.length >= 3);
    // Once per episode, positively: no freshness run is left (a scheduled one included), and a probe
    // published after the reports and the runs has come through, so any fourth alert would have too.
    await queueIdle(a, 'backups');
    await alerts.sync();
    expect(events.map((e) => e.payload.status)).toEqual(['RESOLVED', 'OVERDUE', 'RESOLVED']);
    await client.dispose();
  });
});

describe('live status events', () => {
  it('a subscriber on B hears a change posted to A within a second, and nothing for an unchanged report', async () => {
    const node = 'org/live';
    const ag = agent(a, key);
    await ag.status({ nodeId: node, services: [{ name: 'web', status: 'OPERATIONAL' }] });
    const client = wsClient(b.wsUrl, { authorization: `Bearer ${await freshViewer()}` });
    // Live once a probe status change on this node (the subscription's filter) has come through it.
    const changes = await subscribeReady(client, ServiceStatusChangedDocument, { nodeId: node }, probeOf.statusChanged(a, node), {
      pick: (d: ServiceStatusChangedSubscription) => d.serviceStatusChanged,
    });
    const received = changes.received;

    clock.advance(30_000);
    await ag.status({ nodeId: node, services: [{ name: 'web', status: 'OPERATIONAL' }] });
    await ag.status({ nodeId: 'org/elsewhere', services: [{ name: 'web', status: 'MAJOR_OUTAGE' }] });
    const sent = Date.now();
    clock.advance(30_000);
    await ag.status({ nodeId: node, services: [{ name: 'web', status: 'MAJOR_OUTAGE' }] });
    await waitFor(() => received.length > 0, 1_000, 10);
    expect(Date.now() - sent).toBeLessThan(1_000);
    // Nothing else, positively: every report was answered after its events were published, and a
    // probe published after them all has come through, so anything else for this node would have too.
    await changes.sync();
    expect(received).toEqual([
      { service: { id: expect.any(String), serviceName: 'web', nodeId: node, status: 'MAJOR_OUTAGE' }, previousStatus: 'OPERATIONAL', status: 'MAJOR_OUTAGE', observedAt: clock.now().toISOString() },
    ]);
    await client.dispose();
  });

  it('answers an id that is not a UUID with BAD_USER_INPUT naming it, not a 500', async () => {
    const token = await freshViewer();
    const one = await gql(a.url, ServiceDocument, { id: 'abc' }, bearer(token));
    expect(one.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const many = await gql(a.url, ServicesDocument, { filter: { slaGroupId: 'nope' } }, bearer(token));
    expect(many.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.slaGroupId' });
  });

  it('lists services with filters and pages', async () => {
    const r = await gql(a.url, ServicesDocument, { filter: { nodeId: 'org/backups/cluster' }, page: { limit: 2 } }, bearer(await freshViewer()));
    expect(r.data?.services.pageInfo).toEqual({ page: 1, limit: 2, total: 3, pages: 2, hasNext: true, hasPrev: false });
    expect(r.data?.services.items.map((s) => s.serviceName)).toEqual(['cache-1', 'db-1']);
  });
});
