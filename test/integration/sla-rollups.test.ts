import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeedDashboardStatsDocument, SeedSlaGroupsDocument, TrendDataDocument } from '../generated/graphql.js';
import { agent, newAgentKey } from '../support/agent.js';
import { FakeClock } from '../support/fake-clock.js';
import { activateTestLicense } from '../support/license.js';
import { bearer, createTestEnv, gql, login, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

/**
 * Daily rollups change nothing in the answers: every SLA query gives the same bytes computed all
 * from history, from the rollups, and from rollups a late report has partly re-opened.
 */
const NODE = 'org/rollups/cluster';
const START = Date.parse('2026-03-01T00:00:00.000Z');
const NOW = Date.parse('2026-03-03T12:00:00.000Z');
const STEP = 20 * 60_000;
// Reports every 20 minutes, so a service stays reported for up to an hour after its last one.
// Two workers start at once here, each registering its schedules: on a busy machine Redis may take longer than the 300 ms a request waits for it.
const overrides = { STALE_AFTER_SECONDS: '3600', RATE_LIMIT_AGENT: '100000', REDIS_COMMAND_TIMEOUT_MS: '3000' };
const clock = new FakeClock(new Date(START));
let env: TestEnv;
let api: TestApp;
let groupId: string;
let serviceIds: string[];

const iso = (ms: number) => new Date(ms).toISOString();
const viewer = async () => bearer((await login(api.url, 'viewer@opsgraph.test', 'a-long-enough-password')).token);
const sql = (text: string, values: unknown[] = []) => api.app.db.pool.query(text, values);

/** A fixed pseudo-random status per service and step: outages, maintenance and silences of every length. */
function statusAt(service: number, step: number): string | null {
  const x = Math.sin(service * 7919 + step * 104729) * 10_000;
  const r = x - Math.floor(x);
  if (r < 0.08) return null;
  if (r < 0.16) return 'MAJOR_OUTAGE';
  if (r < 0.22) return 'PARTIAL_OUTAGE';
  if (r < 0.26) return 'MAINTENANCE';
  if (r < 0.35) return 'DEGRADED';
  return 'OPERATIONAL';
}

/** Every SLA answer there is, for the group, one service, and all services, as raw JSON text. */
async function answers(): Promise<string[]> {
  const auth = await viewer();
  const queries = [
    gql(api.url, TrendDataDocument, { filter: { periodType: 'DAILY', monthsBack: 1 } }, auth),
    gql(api.url, TrendDataDocument, { filter: { periodType: 'MONTHLY', monthsBack: 2 } }, auth),
    gql(api.url, TrendDataDocument, { filter: { periodType: 'DAILY', monthsBack: 1, slaGroupId: groupId } }, auth),
    gql(api.url, TrendDataDocument, { filter: { periodType: 'MONTHLY', monthsBack: 1, slaGroupId: groupId } }, auth),
    gql(api.url, TrendDataDocument, { filter: { periodType: 'DAILY', monthsBack: 1, serviceId: serviceIds[0] } }, auth),
    gql(api.url, SeedSlaGroupsDocument, {}, auth),
    gql(api.url, SeedDashboardStatsDocument, {}, auth),
  ];
  return (await Promise.all(queries)).map((r) => {
    expect(r.errors).toBeUndefined();
    return JSON.stringify(r.data);
  });
}

/** Runs the job on whichever worker takes it (the workers are started by the first test). */
async function materialize(app: TestApp = api) {
  const job = await app.app.jobs.enqueueByName('sla.materialize', {});
  await waitFor(async () => ['completed', 'failed'].includes(await job.getState()), 10_000);
  expect(await job.getState()).toBe('completed');
}

const states = async () => (await sql(`SELECT "subjectId", "validUntil" FROM "SlaRollupState" ORDER BY 1`)).rows.map((r) => [r.subjectId, r.validUntil.toISOString()]);
const downOn = async (subjectId: string, day: string) => Number((await sql(`SELECT "downMs" FROM "SlaRollup" WHERE "subjectId" = $1 AND day = $2`, [subjectId, day])).rows[0]?.downMs);

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', clock, overrides });
  await tokenFor(api, 'VIEWER');
  await activateTestLicense(api, { now: clock.now(), plugins: ['sla'] });
  const ag = agent(api, await newAgentKey(api));
  for (let step = 0; START + step * STEP <= NOW; step++) {
    const t = START + step * STEP;
    clock.set(new Date(t));
    const services = [0, 1, 2].flatMap((i) => {
      const status = statusAt(i, step);
      return status ? [{ name: `svc-${i}`, status, slaGroup: 'payments' }] : [];
    });
    const res = await ag.status({ nodeId: NODE, observedAt: iso(t), services, slaGroups: [{ name: 'payments', tier: 'high' }] });
    expect(res.status).toBe(200);
  }
  clock.set(new Date(NOW));
  const rows = await api.app.db.prisma.service.findMany({ where: { nodeId: NODE }, orderBy: { name: 'asc' } });
  serviceIds = rows.map((r) => r.id);
  groupId = rows[0]!.slaGroupId!;
});
afterAll(() => env.cleanup());

describe('daily rollups', () => {
  let live: string[];

  it('two workers write every closed day of every service and group exactly once, and answers do not change', async () => {
    await sql(`DELETE FROM "SlaRollup"`);
    await sql(`DELETE FROM "SlaRollupState"`);
    live = await answers();
    // Counts each row version the job writes; a second write of a day would show as a second row here.
    await sql(`CREATE TABLE rollup_writes ("subjectId" uuid, day timestamptz)`);
    await sql(`CREATE FUNCTION log_rollup_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO rollup_writes VALUES (NEW."subjectId", NEW.day); RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER rollup_writes AFTER INSERT OR UPDATE ON "SlaRollup" FOR EACH ROW EXECUTE FUNCTION log_rollup_write()`);
    // Each worker materializes once on start, then both are asked again at the same moment.
    const workers = await Promise.all([env.startApp({ role: 'worker', clock, overrides }), env.startApp({ role: 'worker', clock, overrides })]);
    await Promise.all(workers.map((w) => materialize(w)));

    const writes = (await sql(`SELECT "subjectId", day, count(*)::int AS n FROM rollup_writes GROUP BY 1, 2`)).rows;
    // Two closed days (1 and 2 March) for three services and their group.
    expect(writes).toHaveLength(8);
    expect(writes.every((w) => w.n === 1)).toBe(true);
    expect(await states()).toEqual([...serviceIds, groupId].sort().map((id) => [id, '2026-03-03T00:00:00.000Z']));
    expect(await answers()).toEqual(live);
  });

  it('a late report re-opens its closed day: answers include it at once, and the worker rewrites that day only', async () => {
    const day = '2026-03-02T00:00:00.000Z';
    const before = { service: await downOn(serviceIds[0]!, day), group: await downOn(groupId, day) };
    await sql(`DELETE FROM rollup_writes`);
    // 18 hours late, inside the replay window: a 20-minute outage on 2 March at 18:05.
    const late = Date.parse('2026-03-02T18:05:00.000Z');
    const ag = agent(api, await newAgentKey(api));
    expect((await ag.status({ nodeId: NODE, observedAt: iso(late), services: [{ name: 'svc-0', status: 'MAJOR_OUTAGE' }] })).status).toBe(200);
    expect(Object.fromEntries(await states())).toMatchObject({ [serviceIds[0]!]: day, [groupId]: day });

    const reopened = await answers();
    expect(reopened).not.toEqual(live);
    const daily = JSON.parse(reopened[4]!).slaTrendData.find((p: { periodKey: string }) => p.periodKey === '2026-03-02');
    const was = JSON.parse(live[4]!).slaTrendData.find((p: { periodKey: string }) => p.periodKey === '2026-03-02');
    expect(daily.downtimeMinutes).toBeGreaterThan(was.downtimeMinutes);

    await materialize();
    expect(await answers()).toEqual(reopened);
    expect(await downOn(serviceIds[0]!, day)).toBeGreaterThan(before.service);
    expect(await downOn(groupId, day)).toBeGreaterThanOrEqual(before.group);
    // Only 2 March of the late service and its group were rewritten.
    const writes = (await sql(`SELECT "subjectId", day FROM rollup_writes ORDER BY 1`)).rows.map((r) => [r.subjectId, r.day.toISOString()]);
    expect(writes.every(([id, d]) => d === day && [serviceIds[0], groupId].includes(id))).toBe(true);
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(await states()).toEqual([...serviceIds, groupId].sort().map((id) => [id, '2026-03-03T00:00:00.000Z']));
  });

  it('a late report for a service without rollups yet starts them at its first day, not at the report', async () => {
    await sql(`DELETE FROM "SlaRollupState" WHERE "subjectId" = $1`, [serviceIds[1]]);
    await sql(`DELETE FROM "SlaRollup" WHERE "subjectId" = $1`, [serviceIds[1]]);
    const ag = agent(api, await newAgentKey(api));
    expect((await ag.status({ nodeId: NODE, observedAt: '2026-03-02T20:05:00.000Z', services: [{ name: 'svc-1', status: 'DEGRADED' }] })).status).toBe(200);
    expect(Object.fromEntries(await states())[serviceIds[1]!]).toBe('2026-03-01T00:00:00.000Z');
    await materialize();
    const rows = (await sql(`SELECT day, "upMs", "cumUpMs" FROM "SlaRollup" WHERE "subjectId" = $1 ORDER BY day`, [serviceIds[1]])).rows;
    expect(rows.map((r) => r.day.toISOString())).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z']);
    expect(Number(rows[1]!.cumUpMs)).toBe(Number(rows[0]!.upMs) + Number(rows[1]!.upMs));
  });

  it('a service moving to another group makes both groups recompute from their members', async () => {
    const ag = agent(api, await newAgentKey(api));
    clock.set(new Date(NOW + 60_000));
    expect((await ag.status({ nodeId: NODE, observedAt: iso(NOW + 60_000), services: [{ name: 'svc-2', status: 'OPERATIONAL', slaGroup: 'ledger' }], slaGroups: [{ name: 'ledger' }] })).status).toBe(200);
    const moved = await answers();
    await materialize();
    expect(await answers()).toEqual(moved);
    const ledger = (await sql(`SELECT id FROM "SlaGroup" WHERE name = 'ledger'`)).rows[0]!.id;
    // The new group's past holds the moved service's history: its first two days are rolled up.
    expect(await downOn(ledger, '2026-03-01T00:00:00.000Z')).toBe(await downOn(serviceIds[2]!, '2026-03-01T00:00:00.000Z'));
  });
});

describe('the 30-day window', () => {
  it('starts to the millisecond inside a day whose history is final: an outage across its start counts from the start on', async () => {
    const own = await createTestEnv();
    const edgeClock = new FakeClock(new Date('2026-02-01T00:00:00.000Z'));
    try {
      const app = await own.startApp({ role: 'all', clock: edgeClock, overrides });
      await tokenFor(app, 'VIEWER');
      await activateTestLicense(app, { now: edgeClock.now(), plugins: ['sla'] });
      const ag = agent(app, await newAgentKey(app));
      // 1 February: up, down from 11:00 to 13:00, up again; the last report at midnight, silent after.
      for (let t = Date.parse('2026-02-01T00:00:00.000Z'); t <= Date.parse('2026-02-02T00:00:00.000Z'); t += STEP) {
        edgeClock.set(new Date(t));
        const h = new Date(t).getUTCHours();
        const status = h >= 11 && h < 13 && new Date(t).getUTCDate() === 1 ? 'MAJOR_OUTAGE' : 'OPERATIONAL';
        expect((await ag.status({ nodeId: 'org/edge', observedAt: iso(t), services: [{ name: 'edge', status, slaGroup: 'edge' }], slaGroups: [{ name: 'edge' }] })).status).toBe(200);
      }
      // 30 days after 1 February 12:00: the window holds 1 h down (12:00–13:00) and 12 h up (13:00 to
      // stale at 01:00 on the 2nd). The whole days come from rollups, the part of 1 February from that
      // final day's timelines, read on the first request and kept for the second.
      edgeClock.set(new Date('2026-03-03T12:00:00.000Z'));
      await materialize(app);
      const auth = bearer((await login(app.url, 'viewer@opsgraph.test', 'a-long-enough-password')).token);
      for (let round = 0; round < 2; round++) {
        const groups = await gql(app.url, SeedSlaGroupsDocument, {}, auth);
        expect(groups.data!.slaGroups.find((g) => g.name === 'edge')!.currentUptime).toBeCloseTo((100 * 12) / 13, 9);
      }
    } finally {
      await own.cleanup();
    }
  });
});
