import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuditRecorder } from '../../src/infra/audit-recorder.js';
import { createAlertEvaluator } from '../../src/modules/alerts/alerts.evaluator.js';
import { createMetricsQuery } from '../../src/modules/metrics/metrics.query.js';
import { createSlaEngine } from '../../src/modules/sla/sla.engine.js';
import { createFleetService } from '../../src/modules/sla/sla.fleet.js';
import { agent, newAgentKey } from '../support/agent.js';
import { activateTestLicense } from '../support/license.js';
import { FakeClock } from '../support/fake-clock.js';
import { ADMIN, bearer, createTestEnv, login, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { webhookReceiver } from '../support/receiver.js';

const STALE_MS = 90_000;
let env: TestEnv;
let a: TestApp;
let b: TestApp;
let admin: Record<string, string>;
const clock = new FakeClock('2026-02-07T14:00:00.000Z');
const receiver = await webhookReceiver();

/** An evaluator of the app's own process parts (its pool, its outbox): two apps give two evaluators. */
function evaluatorOf(t: TestApp) {
  const { db, outbox, logger, licenses, events, config } = t.app;
  const metrics = createMetricsQuery({ pool: db.pool, config, clock });
  const fleet = createFleetService({ db: db.prisma, pool: db.pool, clock, events, logger, audit: createAuditRecorder({ clock }), staleMs: STALE_MS, licenses });
  const engine = createSlaEngine({ db: db.prisma, pool: db.pool, clock, staleMs: STALE_MS, frozenMs: 86_400_000 });
  return { evaluator: createAlertEvaluator({ pool: db.pool, clock, outbox, logger, licenses, fleet, engine, metrics, staleMs: STALE_MS, sampleStaleMs: 300_000 }), fleet };
}

beforeAll(async () => {
  env = await createTestEnv();
  const overrides = { RATE_LIMIT_STANDARD: '100000', RATE_LIMIT_AGENT: '100000', NOTIFY_BACKOFF_MS: '20', REDIS_COMMAND_TIMEOUT_MS: '3000', ACCESS_TOKEN_TTL_SECONDS: '86400' };
  a = await env.startApp({ role: 'all', clock, overrides });
  b = await env.startApp({ role: 'all', clock, overrides });
});
// The fake clock runs ahead by many minutes: a fresh access token for each test.
beforeEach(async () => {
  admin = { ...bearer((await login(a.url, ADMIN.email, ADMIN.password)).token), 'content-type': 'application/json' };
});
afterAll(async () => {
  await env.cleanup();
  await receiver.close();
});

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${a.url}/api/v1${path}`, { method, headers: admin, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
};
/** Samples pushed into the metrics store at the clock's now, as an exporter would (POST /api/v1/metrics). */
async function push(name: string, samples: { value: number; tags: Record<string, string> }[]) {
  const r = await call('POST', '/metrics', { samples: samples.map((x) => ({ name, value: x.value, timestamp: clock.now().toISOString(), tags: x.tags })) });
  expect(r.status).toBe(201);
}
const sample = (value: number, labels: Record<string, string>) => push('queue.depth', [{ value, tags: labels }]);
/**
 * Everything raised so far has been routed and delivered (or given up): no outbox row pending, no
 * alert or notification job waiting, running or due for a retry. The health checks of the apps'
 * workers raise HEALTH alerts at start, whose aggregated dispatch to console and file waits out its
 * window: those are not this file's concern.
 */
async function settled() {
  await waitFor(async () => (await a.app.db.pool.query(`SELECT count(*)::int AS n FROM "OutboxEvent" WHERE state = 'PENDING'`)).rows[0].n === 0, 10_000);
  await waitFor(async () => {
    for (const name of ['alerts', 'notifications']) {
      const q = a.app.jobs.queues.get(name)!;
      const counts = await q.getJobCounts('waiting', 'active', 'prioritized');
      if (Object.values(counts).some((n) => n > 0)) return false;
      const delayed = await q.getJobs(['delayed']);
      if (delayed.some((j) => !j.repeatJobKey && !(j.name === 'alerts.dispatch' && ['console', 'file'].includes((j.data as { channelId: string }).channelId)))) return false;
    }
    return true;
  }, 10_000);
}
const bodies = () => receiver.requests.map((r) => JSON.parse(r.body) as { status: string; alerts: { id: string; rule: string | null; status: string; labels: Record<string, string>; source: string }[] });
const ofRule = (name: string, from: number) => bodies().slice(from).filter((m) => m.alerts.some((x) => x.rule === name));

beforeAll(async () => {
  admin = { ...bearer((await login(a.url, ADMIN.email, ADMIN.password)).token), 'content-type': 'application/json' };
  expect((await call('POST', '/alerts/channels', { name: 'hook', type: 'webhook', config: { url: receiver.url } })).status).toBe(201);
  await call('PATCH', '/alerts/config', { aggregation: { enabled: false }, deduplication: { enabled: false }, defaultChannels: ['hook'] });
});

describe('two evaluators at once', () => {
  it('give exactly one transition and one notification per state change over 50 cycles', async () => {
    const rule = await call('POST', '/alerts/rules', { name: 'Deep queue', metric: 'queue.depth', labels: { queue: 'orders' }, condition: { operator: '>', threshold: 100, duration: 60 }, severity: 'high', channels: ['hook'] });
    expect(rule.status).toBe(201);
    const [e1, e2] = [evaluatorOf(a).evaluator, evaluatorOf(b).evaluator];
    const start = receiver.requests.length;
    // High for 8 cycles, low for 4, again and again: pending after the first high one, firing after two more (60 s), resolved at the first low one.
    let expected = 0;
    for (let i = 0; i < 50; i++) {
      clock.advance(30_000);
      const high = i % 12 < 8;
      await sample(high ? 150 : 20, { queue: 'orders', host: 'q1' });
      await sample(5, { queue: 'billing', host: 'q1' });
      await Promise.all([e1.evaluate(), e2.evaluate()]);
      if (high && i % 12 === 2) expected++; // fired
      if (!high && i % 12 === 8) expected++; // resolved
    }
    await settled();
    await waitFor(() => receiver.requests.length - start >= expected);
    const transitions = await a.app.db.pool.query(
      `SELECT t."toState", count(*)::int AS n FROM "AlertTransition" t JOIN "Alert" al ON al.id = t."alertId" WHERE al."ruleId" = $1 GROUP BY 1 ORDER BY 1`,
      [rule.body!.data.id],
    );
    // 5 episodes (cycles 0-7, 12-19, 24-31, 36-43, 48-49): each pending once; 4 fired and resolved, the last still pending.
    expect(transitions.rows).toEqual([
      { toState: 'PENDING', n: 5 },
      { toState: 'FIRING', n: 4 },
      { toState: 'RESOLVED', n: 4 },
    ]);
    expect(expected).toBe(8);
    expect(receiver.requests.length - start).toBe(8);
    expect(bodies().slice(start).map((m) => m.status)).toEqual(['firing', 'resolved', 'firing', 'resolved', 'firing', 'resolved', 'firing', 'resolved']);
    // Only the matching series: the billing queue never alerted.
    expect(bodies().slice(start).every((m) => m.alerts[0]!.labels.queue === 'orders')).toBe(true);
    admin = { ...bearer((await login(a.url, ADMIN.email, ADMIN.password)).token), 'content-type': 'application/json' };
    expect((await call('DELETE', `/alerts/rules/${rule.body!.data.id}`)).status).toBe(204);
    await e1.evaluate();
  }, 60_000);
});

describe('silences, deduplication and aggregation', () => {
  it('a silenced rule records its alerts without notifying; one that fired before the silence still sends its resolved', async () => {
    const { evaluator } = evaluatorOf(a);
    const created = await call('POST', '/alerts/rules', { name: 'Hot disk', metric: 'disk.temp', condition: { operator: '>', threshold: 60 }, severity: 'medium', channels: ['hook'] });
    expect(created.body).toMatchObject({ success: true });
    const rule = created.body!.data;
    const temp = (v: number, host: string) => push('disk.temp', [{ value: v, tags: { host } }]);
    const start = receiver.requests.length;
    clock.advance(30_000);
    await temp(70, 'before');
    await evaluator.evaluate();
    await settled();
    await waitFor(() => receiver.requests.length > start);
    expect((await call('POST', `/alerts/rules/${rule.id}/silence`, { duration: 3600, reason: 'maintenance' })).body!.data.silenced).toBe(true);
    clock.advance(30_000);
    await temp(70, 'before');
    await temp(75, 'during');
    await evaluator.evaluate();
    clock.advance(30_000);
    await temp(20, 'before');
    await temp(20, 'during');
    await evaluator.evaluate();
    await settled();
    await waitFor(() => ofRule('Hot disk', start).length >= 2);
    await settled();
    const sent = ofRule('Hot disk', start).map((m) => [m.status, m.alerts[0]!.labels.host]);
    expect(sent).toEqual([
      ['firing', 'before'],
      ['resolved', 'before'],
    ]);
    const during = await call('GET', `/alerts/history?rule=${encodeURIComponent('Hot disk')}&status=resolved`);
    const held = during.body!.data.find((x: any) => x.labels.host === 'during');
    expect(held).toBeTruthy();
    const notes = await call('GET', `/alerts/${held.id}/notifications`);
    expect(notes.body!.data.map((n: any) => [n.kind, n.status])).toEqual([
      ['firing', 'silenced'],
      ['resolved', 'silenced'],
    ]);
  });

  it('deduplication holds a second firing of one fingerprint within the window; aggregation sends a window as one message', async () => {
    await call('PATCH', '/alerts/config', { deduplication: { enabled: true, window: 300 } });
    const { evaluator } = evaluatorOf(a);
    await call('POST', '/alerts/rules', { name: 'Errors', metric: 'http.errors', condition: { operator: '>', threshold: 1 }, severity: 'low', channels: ['hook'] });
    const errors = (v: number) => push('http.errors', [{ value: v, tags: { svc: 'api' } }]);
    const start = receiver.requests.length;
    for (const v of [5, 0, 5]) {
      clock.advance(30_000);
      await errors(v);
      await evaluator.evaluate();
      await settled();
    }
    // firing, resolved, and the second firing 60 s later deduplicated.
    expect(ofRule('Errors', start).map((m) => m.status)).toEqual(['firing', 'resolved']);
    clock.advance(301_000);
    await errors(0);
    await evaluator.evaluate();
    clock.advance(30_000);
    await errors(5);
    await evaluator.evaluate();
    await settled();
    await waitFor(() => ofRule('Errors', start).length >= 3);
    expect(ofRule('Errors', start).map((m) => m.status)).toEqual(['firing', 'resolved', 'firing']);

    await call('PATCH', '/alerts/config', { aggregation: { enabled: true, window: 2 } });
    const before = receiver.requests.length;
    await Promise.all([1, 2, 3].map((n) => call('POST', '/alerts', { severity: 'low', title: `grouped ${n}` })));
    await waitFor(() => receiver.requests.length > before, 10_000);
    await settled();
    expect(receiver.requests.length).toBe(before + 1);
    const grouped = bodies().at(-1)!;
    expect(grouped.alerts.map((x) => x.source)).toEqual(['MANUAL', 'MANUAL', 'MANUAL']);
    await call('PATCH', '/alerts/config', { aggregation: { enabled: false }, deduplication: { enabled: false } });
  });
});

describe('a silent node', () => {
  it('gives one NODE alert and no per-service notifications; its return resolves it', async () => {
    const { evaluator, fleet } = evaluatorOf(a);
    const key = await newAgentKey(a);
    const report = () => agent(a, key).status({ nodeId: 'edge-7', observedAt: clock.now().toISOString(), services: ['web', 'db', 'cache'].map((name) => ({ name, status: 'OPERATIONAL' })) });
    expect((await report()).status).toBe(200);
    await evaluator.evaluate();
    await settled();
    const start = receiver.requests.length;
    clock.advance(STALE_MS + 1_000);
    await fleet.sweepStale();
    await evaluator.evaluate();
    clock.advance(STALE_MS + 1_000);
    await evaluator.evaluate();
    await settled();
    await waitFor(() => receiver.requests.length > start);
    await settled();
    // Only this node's: the rules of the tests before resolve as their samples grow stale meanwhile.
    const mine = () => bodies().slice(start).filter((m) => m.alerts.some((x) => x.labels.nodeId === 'edge-7'));
    const sent = mine();
    expect(sent.map((m) => [m.status, m.alerts.map((x) => x.source)])).toEqual([['firing', ['NODE']]]);
    const open = await call('GET', '/alerts/history?status=firing&since=1d');
    const node = open.body!.data.find((x: any) => x.source === 'NODE' && x.labels.nodeId === 'edge-7');
    const services = open.body!.data.filter((x: any) => x.source === 'SLA' && x.labels.nodeId === 'edge-7');
    expect(services).toHaveLength(3);
    expect(services.every((s: any) => s.suppressedBy === node.id)).toBe(true);

    expect((await report()).status).toBe(200);
    await evaluator.evaluate();
    await settled();
    await waitFor(() => mine().length > 1);
    await settled();
    expect(mine().map((m) => [m.status, m.alerts.map((x) => x.source)])).toEqual([
      ['firing', ['NODE']],
      ['resolved', ['NODE']],
    ]);
    const after = await call('GET', '/alerts?status=active');
    expect(after.body!.alerts.filter((x: any) => x.metadata.labels.nodeId === 'edge-7')).toEqual([]);
  });
});

describe('SLA burn-rate alerts', () => {
  it('a scripted outage pages at the evaluation where 1 h and 5 min both burn over 14.4x, not before; unknown time burns nothing', async () => {
    await activateTestLicense(a, { now: clock.now(), plugins: ['sla'] });
    const { evaluator } = evaluatorOf(a);
    const key = await newAgentKey(a);
    const ag = agent(a, key);
    const report = (at: number, pay: string, cart: string | null) =>
      ag.status({
        nodeId: 'burn-1',
        observedAt: new Date(at).toISOString(),
        services: [{ name: 'pay', status: pay, slaGroup: 'payments' }, ...(cart ? [{ name: 'cart', status: cart, slaGroup: 'payments' }] : [])],
        slaGroups: [{ name: 'payments', displayName: 'Payments', tier: 'high' }],
      });
    // Two hours up, one report a minute (replayed: the clock stands at the end).
    const T = clock.now().getTime();
    for (let m = 120; m >= 1; m--) expect((await report(T - m * 60_000, 'OPERATIONAL', 'OPERATIONAL')).status).toBe(200);
    const burning = async () =>
      (await a.app.db.pool.query(`SELECT labels->>'window' AS w, labels->>'scope' AS scope FROM "Alert" WHERE metadata->>'kind' = 'burn-rate' AND state = 'FIRING' ORDER BY 1, 2`)).rows;
    const pages = async () => (await burning()).filter((r) => r.w !== '3d/6h');
    // At 99.9 % (tier high) a burn rate of 14.4 over 1 h is 52 s down; cart stops reporting (unknown) meanwhile.
    await report(T, 'MAJOR_OUTAGE', 'OPERATIONAL');
    clock.advance(30_000);
    await report(clock.now().getTime(), 'MAJOR_OUTAGE', null);
    await evaluator.evaluate();
    // 30 s down in 2 h measured is a ticket already (3d/6h over 1x: only measured time counts), not a page.
    expect(await pages()).toEqual([]);
    expect(await burning()).toEqual([
      { w: '3d/6h', scope: 'GROUP' },
      { w: '3d/6h', scope: 'SERVICE' },
    ]);
    clock.advance(30_000);
    await report(clock.now().getTime(), 'MAJOR_OUTAGE', null);
    await evaluator.evaluate();
    // 60 s of 60 min down: 16.7x over 1 h, 200x over 5 min; the group is down with it. The 6 h window
    // holds only the 2 h measured: 8.2x over it and 33x over 30 min page too.
    expect(await pages()).toEqual([
      { w: '1h/5m', scope: 'GROUP' },
      { w: '1h/5m', scope: 'SERVICE' },
      { w: '6h/30m', scope: 'GROUP' },
      { w: '6h/30m', scope: 'SERVICE' },
    ]);
    const [page] = (await a.app.db.pool.query(`SELECT severity, labels, value FROM "Alert" WHERE metadata->>'kind' = 'burn-rate' AND state = 'FIRING' AND labels->>'scope' = 'SERVICE' AND labels->>'window' = '1h/5m'`)).rows;
    expect(page).toMatchObject({ severity: 'critical', labels: { window: '1h/5m', burnRate: '14.4', nodeId: 'burn-1' } });
    expect(page.value).toBeCloseTo(1000 / 60, 0);
    // cart's silence is unknown time: none of its windows burns.
    const cart = (await a.app.db.pool.query(`SELECT id FROM "Service" WHERE name = 'cart'`)).rows[0].id;
    expect((await a.app.db.pool.query(`SELECT count(*)::int AS n FROM "Alert" WHERE metadata->>'kind' = 'burn-rate' AND labels->>'subjectId' = $1`, [cart])).rows[0].n).toBe(0);
    // Back up at the next report: once the outage has left the 5 min window, the 1h/5m page resolves.
    for (let i = 0; i < 12; i++) {
      clock.advance(30_000);
      await report(clock.now().getTime(), 'OPERATIONAL', null);
    }
    await evaluator.evaluate();
    expect((await burning()).filter((r) => r.w === '1h/5m')).toEqual([]);
  });
});
