import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentsDocument, SlaAlertDocument, type SlaAlertSubscription, SlaIncidentDocument, type SlaIncidentSubscription, SeedDashboardStatsDocument, SeedSlaGroupsDocument, SeedSnapshotTrendDocument, SeedTrendDataDocument, TrendDataDocument, UpdateSlaGroupDocument } from '../generated/graphql.js';
import { agent, newAgentKey } from '../support/agent.js';
import { activateTestLicense } from '../support/license.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearer, createTestEnv, gql, login, probeOf, queueIdle, subscribeReady, tokenFor, waitFor, wsClient, type TestApp, type TestEnv } from '../support/harness.js';

const NODE = 'org/sla/cluster';
const T0 = Date.parse('2026-02-07T14:00:00.000Z');
const clock = new FakeClock(new Date(T0));
let env: TestEnv;
let api: TestApp;
let serviceId: string;
let groupId: string;

/** Access tokens follow the fake clock: after it moves, log in again. */
const viewer = async () => bearer((await login(api.url, 'viewer@opsgraph.test', 'a-long-enough-password')).token);
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', clock, overrides: { RATE_LIMIT_AGENT: '100000' } });
  // The trends, the dashboard and the error-budget alerts belong to the sla plugin.
  await activateTestLicense(api, { now: clock.now(), plugins: ['sla'] });
  await tokenFor(api, 'VIEWER');
  const ag = agent(api, await newAgentKey(api));
  // OPERATIONAL from :00, PARTIAL_OUTAGE from :01, OPERATIONAL again from :03, a report every 30 s, live.
  for (let s = 0; s < 300; s += 30) {
    clock.set(new Date(T0 + s * 1000));
    const status = s >= 60 && s < 180 ? 'PARTIAL_OUTAGE' : 'OPERATIONAL';
    const res = await ag.status({
      nodeId: NODE,
      observedAt: iso(T0 + s * 1000),
      services: [{ name: 'checkout-api', status, slaGroup: 'checkout' }],
      slaGroups: [{ name: 'checkout', displayName: 'Checkout', tier: 'critical' }],
    });
    expect(res.status).toBe(200);
  }
  clock.set(new Date(T0 + 5 * 60_000));
  const service = await api.app.db.prisma.service.findFirstOrThrow({ where: { nodeId: NODE } });
  serviceId = service.id;
  groupId = service.slaGroupId!;
});
afterAll(() => env.cleanup());

describe('the seed queries, with the numbers api.md defines', () => {
  it('slaSnapshotTrend: 60 %, 2 minutes down, one incident, BREACHED in the bucket of the outage', async () => {
    const r = await gql(api.url, SeedSnapshotTrendDocument, { serviceId }, await viewer());
    expect(r.errors).toBeUndefined();
    const rows = r.data!.slaSnapshotTrend;
    // 13:05 to 14:05, the current bucket included.
    expect(rows.map((b) => b.periodKey)).toEqual(Array.from({ length: 13 }, (_, i) => iso(T0 - 55 * 60_000 + i * 300_000).slice(0, 16)));
    expect(rows.at(-2)).toEqual({
      periodKey: '2026-02-07T14:00',
      periodStart: '2026-02-07T14:00:00.000Z',
      actualValue: 60,
      targetValue: 99.95,
      incidentCount: 1,
      downtimeMinutes: 2,
      status: 'BREACHED',
    });
    expect(rows[0]).toMatchObject({ actualValue: null, downtimeMinutes: 0, incidentCount: 0, status: 'NO_DATA' });
  });

  it('slaGroups: the month status and the 30-day uptime of the group', async () => {
    const r = await gql(api.url, SeedSlaGroupsDocument, {}, await viewer());
    const group = r.data!.slaGroups.find((g) => g.name === 'checkout')!;
    // February's budget at 99.95 % is 20.16 minutes; 2 minutes used.
    expect(group).toMatchObject({ tier: 'critical', status: 'MET', currentUptime: 60 });
  });

  it('slaTrendData: daily periods from a month back to today, with the quoted periodType', async () => {
    const r = await gql(api.url, SeedTrendDataDocument, {}, await viewer());
    expect(r.errors).toBeUndefined();
    const days = r.data!.slaTrendData;
    expect(days[0]!.periodKey).toBe('2026-01-07');
    expect(days.at(-1)).toEqual({ periodKey: '2026-02-07', periodStart: '2026-02-07T00:00:00.000Z', actualValue: 60, status: 'BREACHED' });
    expect(days.slice(0, -1).every((d) => d.status === 'NO_DATA' && d.actualValue === null)).toBe(true);

    const months = await gql(api.url, TrendDataDocument, { filter: { periodType: 'MONTHLY', monthsBack: 1, slaGroupId: groupId } }, await viewer());
    expect(months.data!.slaTrendData.map((m) => [m.periodKey, m.actualValue, m.downtimeMinutes, m.incidentCount, m.status])).toEqual([
      ['2026-01', null, 0, 0, 'NO_DATA'],
      ['2026-02', 60, 2, 1, 'MET'],
    ]);
    const bad = await gql(api.url, TrendDataDocument, { filter: { periodType: 'WEEKLY', monthsBack: 1 } }, await viewer());
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('slaDashboardStats', async () => {
    const r = await gql(api.url, SeedDashboardStatsDocument, {}, await viewer());
    expect(r.data!.slaDashboardStats).toEqual({ totalServices: 1, servicesWithSla: 1, metCount: 1, atRiskCount: 0, breachedCount: 0, averageUptime: 60 });
  });
});

describe('incidents', () => {
  it('are stored as the history defines them, and open and close live on another instance', async () => {
    const listed = await gql(api.url, IncidentsDocument, { filter: { serviceId } }, await viewer());
    expect(listed.data!.incidents.items).toEqual([
      { id: expect.any(String), serviceId, slaGroupId: groupId, startedAt: iso(T0 + 60_000), endedAt: iso(T0 + 180_000) },
    ]);

    const other = await env.startApp({ role: 'api', clock });
    const client = wsClient(other.wsUrl, { authorization: (await viewer()).authorization });
    // Live once a probe sla:incident has come through it.
    const { received: seen } = await subscribeReady(client, SlaIncidentDocument, {}, probeOf.slaIncident(api), { pick: (d: SlaIncidentSubscription) => d.slaIncident });
    const ag = agent(api, await newAgentKey(api));
    const post = async (offset: number, status: string) => {
      clock.set(new Date(T0 + offset * 1000));
      expect((await ag.status({ nodeId: NODE, observedAt: iso(T0 + offset * 1000), services: [{ name: 'checkout-api', status }] })).status).toBe(200);
    };
    await post(300, 'MAJOR_OUTAGE');
    await waitFor(() => seen.length === 1, 1_000, 10);
    await post(330, 'MAJOR_OUTAGE');
    await post(360, 'OPERATIONAL');
    await waitFor(() => seen.length === 2, 1_000, 10);
    expect(seen).toEqual([
      { action: 'OPENED', incident: { id: expect.any(String), serviceId, startedAt: iso(T0 + 300_000), endedAt: null } },
      { action: 'CLOSED', incident: { id: seen[0]!.incident.id, serviceId, startedAt: iso(T0 + 300_000), endedAt: iso(T0 + 360_000) } },
    ]);
    const open = await gql(api.url, IncidentsDocument, { filter: { open: true } }, await viewer());
    expect(open.data!.incidents.pageInfo.total).toBe(0);
    await client.dispose();
    clock.set(new Date(T0 + 5 * 60_000));
  });
});

describe('exact whatever the delivery', () => {
  it('a late report changes the closed bucket it falls in', async () => {
    await agent(api, await newAgentKey(api)).status({ nodeId: NODE, observedAt: iso(T0 + 255_000), services: [{ name: 'checkout-api', status: 'MAJOR_OUTAGE' }] });
    const r = await gql(api.url, SeedSnapshotTrendDocument, { serviceId }, await viewer());
    // Down 14:01–14:03 and 14:04:15–14:04:30: 2.25 minutes, two incidents.
    expect(r.data!.slaSnapshotTrend.at(-2)).toMatchObject({ actualValue: 55, downtimeMinutes: 2.25, incidentCount: 2, status: 'BREACHED' });
    const stored = await gql(api.url, IncidentsDocument, { filter: { serviceId }, page: { sort: 'startedAt', order: 'asc' } }, await viewer());
    expect(stored.data!.incidents.items.map((i) => [i.startedAt, i.endedAt]).slice(0, 2)).toEqual([
      [iso(T0 + 60_000), iso(T0 + 180_000)],
      [iso(T0 + 255_000), iso(T0 + 270_000)],
    ]);
  });

  it('a new target re-evaluates the status from the same history', async () => {
    const admin = bearer((await login(api.url, 'admin@opsgraph.test', 'correct-horse-battery')).token);
    const r = await gql(api.url, UpdateSlaGroupDocument, { id: groupId, input: { targetUptime: 99.999 } }, admin);
    expect(r.data!.updateSlaGroup).toMatchObject({ targetUptime: 99.999, status: 'BREACHED' });
    const trend = await gql(api.url, SeedSnapshotTrendDocument, { serviceId }, await viewer());
    expect(trend.data!.slaSnapshotTrend.at(-2)).toMatchObject({ targetValue: 99.999, downtimeMinutes: 2.25 });
  });
});

describe('sla:alert', () => {
  it('error-budget alerts belong to the sla plugin: without it nothing is evaluated', async () => {
    await activateTestLicense(api, { now: clock.now(), plugins: ['ticketing'] });
    // A worker started after the activation: its license is read fresh, not cached from before.
    const worker = await env.startApp({ role: 'worker', clock });
    try {
      const job = await api.app.jobs.enqueueByName('sla.evaluate-alerts', {});
      await waitFor(async () => (await job.getState()) === 'completed', 5_000);
      expect((await worker.app.jobs.queues.get('sla')!.getJob(job.id!))!.returnvalue).toBe(0);
      expect(await api.app.db.prisma.slaAlertState.count()).toBe(0);
    } finally {
      await worker.stop();
      await activateTestLicense(api, { now: clock.now(), plugins: ['sla'] });
    }
  });

  it('is raised once when a service and its group enter BREACHED, however often and by however many workers evaluated', async () => {
    const listener = await env.startApp({ role: 'api', clock });
    const client = wsClient(listener.wsUrl, { authorization: (await viewer()).authorization });
    // Live once a probe sla:alert has come through it.
    const alerts = await subscribeReady(client, SlaAlertDocument, {}, probeOf.slaAlert(api), { pick: (d: SlaAlertSubscription) => d.slaAlert });
    const seen = alerts.received;
    // Two workers: their schedules each evaluate at once on start, then every minute.
    const [, worker2] = await Promise.all([env.startApp({ role: 'worker', clock }), env.startApp({ role: 'worker', clock })]);

    const run = async () => {
      const jobs = await Promise.all([api.app.jobs.enqueueByName('sla.evaluate-alerts', {}), worker2.app.jobs.enqueueByName('sla.evaluate-alerts', {})]);
      await waitFor(async () => (await Promise.all(jobs.map((j) => j.getState()))).every((s) => s === 'completed'), 5_000);
    };
    await run();
    await run();
    await waitFor(() => seen.length >= 2, 1_000, 10);
    // No third alert, positively: every evaluation (the workers' own first runs too) has finished and
    // published what it raised, and a probe published after them has come through, so any alert
    // they sent has too.
    await queueIdle(api, 'sla');
    await alerts.sync();
    // The target was raised to 99.999 % above: February allows 0.4 minutes; 2.25 are used.
    expect(seen.map((a) => [a.scope, a.status, a.serviceId, a.slaGroupId]).sort()).toEqual([
      ['GROUP', 'BREACHED', null, groupId],
      ['SERVICE', 'BREACHED', serviceId, groupId],
    ]);
    expect(seen[0]!.message).toMatch(/BREACHED: \d+\.\d of 0\.4 minutes/);
    await client.dispose();
  });
});
