import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRegistry } from '../../src/infra/jobs.js';
import { OutboxPayloadError } from '../../src/infra/outbox.js';
import { inTransaction } from '../../src/infra/sql.js';
import { LICENSE_UPDATED } from '../../src/modules/licenses/licenses.events.js';
import { SLA_INCIDENT, type IncidentEvent } from '../../src/modules/sla/sla.events.js';
import { agent, newAgentKey } from '../support/agent.js';
import { REDIS_URL } from '../support/env.js';
import { createTestEnv, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { activateTestLicense } from '../support/license.js';
import { TcpProxy } from '../support/tcp-proxy.js';

type OutboxRow = { id: string; type: string; state: string; attempts: number; lastError: string | null; availableAt: Date; createdAt: Date; doneAt: Date | null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rowsOf = async (app: TestApp, where = 'true', values: unknown[] = []) =>
  (await app.app.db.pool.query<OutboxRow>(`SELECT id::text AS id, type, state, attempts, "lastError", "availableAt", "createdAt", "doneAt" FROM "OutboxEvent" WHERE ${where} ORDER BY id`, values)).rows;

/** An incident notice nobody acts on (no SLA group): the ticket job skips it. */
const notice = (action: 'OPENED' | 'CLOSED' = 'OPENED'): IncidentEvent => ({
  action,
  incident: { id: randomUUID(), serviceId: randomUUID(), slaGroupId: null, startedAt: new Date('2026-02-07T14:00:00.000Z'), endedAt: null },
});

/** Records every job a registry enqueues (by outbox row), optionally slowing each down; `restore` puts it back. */
function spyEnqueue(jobs: JobRegistry, opts: { delayMs?: number; fail?: () => boolean } = {}) {
  const calls: { name: string; eventId?: string }[] = [];
  const original = jobs.enqueue;
  jobs.enqueue = (async (def, payload, options) => {
    if (opts.fail?.()) throw new Error('Connection is closed.');
    calls.push({ name: def.name, eventId: (payload as { eventId?: string }).eventId });
    if (opts.delayMs) await sleep(opts.delayMs);
    return original.call(jobs, def, payload, options);
  }) as JobRegistry['enqueue'];
  return { calls, restore: () => void (jobs.enqueue = original) };
}

describe('an incident during a Redis outage', () => {
  let env: TestEnv;
  let redisProxy: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    env = await createTestEnv();
    redisProxy = TcpProxy.forUrl(REDIS_URL);
    await redisProxy.start();
    // API and workers in one process, all of its Redis connections through the proxy.
    app = await env.startApp({ role: 'all', overrides: { REDIS_URL: redisProxy.rewrite(REDIS_URL) } });
    await activateTestLicense(app, { plugins: ['ticketing'] });
  });
  afterAll(async () => {
    await redisProxy.start().catch(() => undefined);
    await env.cleanup();
    await redisProxy.stop();
  });

  it('gets its automatic ticket once Redis returns, within 10 s, exactly once', async () => {
    const ag = agent(app, await newAgentKey(app));
    const nodeId = 'org/outbox/cluster';
    const post = (status: string) =>
      ag.status({ nodeId, observedAt: new Date().toISOString(), services: [{ name: 'billing', status, slaGroup: 'billing' }], slaGroups: [{ name: 'billing', tier: 'critical' }] });
    expect((await post('OPERATIONAL')).status).toBe(200);

    await redisProxy.stop();
    await sleep(300);
    // The report is stored whatever happens to Redis (rate limits and key use fail open).
    const down = await post('MAJOR_OUTAGE');
    expect(down.status).toBe(200);
    const incident = await app.app.db.prisma.incident.findFirstOrThrow({ where: { service: { name: 'billing' } } });
    expect(incident.endedAt).toBeNull();
    // The event was written with the incident and waits, however long Redis is away.
    await sleep(1_500);
    const waiting = await rowsOf(app, `type = 'sla:incident'`);
    expect(waiting).toMatchObject([{ state: 'PENDING' }]);
    const tickets = () => app.app.db.prisma.ticket.findMany({ where: { autoIncidentId: incident.id } });
    expect(await tickets()).toHaveLength(0);

    await redisProxy.start();
    const back = Date.now();
    await waitFor(async () => (await tickets()).length > 0, 10_000, 100);
    expect(Date.now() - back).toBeLessThan(10_000);
    // Delivered once, whatever the retries: a few relay ticks more, and count again.
    await sleep(2_500);
    const rows = await tickets();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'OPEN', priority: 'CRITICAL', incidentId: incident.id });
    expect(await rowsOf(app, `id = $1`, [waiting[0]!.id])).toMatchObject([{ state: 'DONE', doneAt: expect.any(Date) }]);
  });

  it('a failed enqueue leaves the row pending with its attempts and error, and it is retried with a backoff', async () => {
    let failing = true;
    const spy = spyEnqueue(app.app.jobs, { fail: () => failing });
    try {
      await inTransaction(app.app.db.pool, (tx) => app.app.outbox.add(tx, SLA_INCIDENT, notice()));
      const [row] = await rowsOf(app, `state = 'PENDING'`);
      await app.app.outbox.relay();
      const [failed] = await rowsOf(app, `id = $1`, [row!.id]);
      expect(failed).toMatchObject({ state: 'PENDING', lastError: expect.stringMatching(/tickets\.incident-ticket: Connection is closed/) });
      expect(failed!.attempts).toBeGreaterThanOrEqual(1);
      expect(failed!.availableAt.getTime()).toBeGreaterThan(failed!.createdAt.getTime());

      failing = false;
      await waitFor(async () => (await rowsOf(app, `id = $1 AND state = 'DONE'`, [row!.id])).length === 1, 10_000, 100);
      expect(spy.calls.filter((c) => c.eventId === row!.id)).toHaveLength(1);
    } finally {
      spy.restore();
    }
  });

  it('marks a row that cannot be delivered as stored FAILED, leaves types it does not know alone, and prunes old rows', async () => {
    const pool = app.app.db.pool;
    const { rows: inserted } = await pool.query<{ id: string; type: string }>(
      `INSERT INTO "OutboxEvent" (type, payload) VALUES ('sla:incident', '{"action": "REOPENED"}'), ('future:event', '{}') RETURNING id::text AS id, type`,
    );
    await app.app.outbox.relay();
    const [bad, future] = await rowsOf(app, `id = ANY($1::bigint[])`, [inserted.map((r) => r.id)]);
    expect(bad).toMatchObject({ state: 'FAILED', attempts: 1, lastError: expect.stringMatching(/^payload: incident: /) });
    expect(future).toMatchObject({ state: 'PENDING', attempts: 0, lastError: null });

    // Done a day ago: pruned; done just now, failed or pending: kept.
    const [old] = await rowsOf(app, `state = 'DONE'`);
    await pool.query(`UPDATE "OutboxEvent" SET "doneAt" = now() - interval '25 hours' WHERE id = $1`, [old!.id]);
    const before = await rowsOf(app);
    expect(await app.app.outbox.prune()).toBe(1);
    expect((await rowsOf(app)).map((r) => r.id)).toEqual(before.map((r) => r.id).filter((id) => id !== old!.id));
  });
});

describe('the outbox API', () => {
  let env: TestEnv;
  let app: TestApp;
  beforeAll(async () => {
    env = await createTestEnv();
    app = await env.startApp({ role: 'api' });
  });
  afterAll(() => env.cleanup());

  it('refuses an invalid payload inside the transaction, which then rolls back whole', async () => {
    const { pool } = app.app.db;
    const bad = { ...notice(), action: 'REOPENED' } as unknown as IncidentEvent;
    const err = await inTransaction(pool, async (tx) => {
      await tx.execute(`INSERT INTO "Setting" (key, value, "updatedAt") VALUES ('outbox-probe', 'x', now())`);
      return app.app.outbox.add(tx, SLA_INCIDENT, [notice(), bad]);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboxPayloadError);
    expect((err as Error).message).toMatch(/refused an invalid sla:incident event: 1\.action: /);
    expect(await rowsOf(app)).toEqual([]);
    expect(await app.app.db.prisma.setting.findUnique({ where: { key: 'outbox-probe' } })).toBeNull();

    // Through a Prisma transaction too, and an event that was never defined is refused.
    const license = (await app.app.db.prisma.$transaction((tx) => app.app.outbox.add(tx, LICENSE_UPDATED, { action: 'EXPIRED' } as never)).catch((e: unknown) => e)) as Error;
    expect(license).toBeInstanceOf(OutboxPayloadError);
    expect(license.message).toMatch(/license:updated event: message: /);
    const undefinedEvent = { type: 'sla:incident', schema: SLA_INCIDENT.schema };
    await expect(inTransaction(pool, (tx) => app.app.outbox.add(tx, undefinedEvent, notice()))).rejects.toThrow(/not an event defined with defineEvent/);
    expect(await rowsOf(app)).toEqual([]);

    // A valid one is written, with its payload as the bus would carry it.
    expect(await app.app.db.prisma.$transaction((tx) => app.app.outbox.add(tx, SLA_INCIDENT, [notice(), notice('CLOSED')]))).toBe(2);
    expect((await rowsOf(app)).map((r) => [r.type, r.state, r.attempts])).toEqual([
      ['sla:incident', expect.stringMatching(/PENDING|DONE/), 0],
      ['sla:incident', expect.stringMatching(/PENDING|DONE/), 0],
    ]);
  });
});

describe('two relays on one database', () => {
  let env: TestEnv;
  let workers: TestApp[];
  beforeAll(async () => {
    env = await createTestEnv();
    // Two workers start at once, each registering its schedules: on a busy machine Redis may take longer than 300 ms.
    const overrides = { REDIS_COMMAND_TIMEOUT_MS: '3000' };
    workers = await Promise.all([env.startApp({ role: 'worker', overrides }), env.startApp({ role: 'worker', overrides })]);
  });
  afterAll(() => env.cleanup());

  it('deliver every row once: one job per row, one message per row on the bus', async () => {
    const total = 400;
    const heard = new Map<string, number>();
    const subscriber = new Redis(REDIS_URL);
    await subscriber.subscribe(`${env.prefix}:events`);
    subscriber.on('message', (_channel, message) => {
      const event = JSON.parse(message) as { type: string; payload: IncidentEvent };
      if (event.type === 'sla:incident') heard.set(event.payload.incident.id, (heard.get(event.payload.incident.id) ?? 0) + 1);
    });
    // Slowed a little, so that both relays are busy at the same time.
    const spies = workers.map((w) => spyEnqueue(w.app.jobs, { delayMs: 5 }));
    try {
      const notices = Array.from({ length: total }, () => notice());
      expect(await inTransaction(workers[0]!.app.db.pool, (tx) => workers[0]!.app.outbox.add(tx, SLA_INCIDENT, notices))).toBe(total);
      // Both relays at once, twice each, besides their scheduled ticks.
      const outcomes = await Promise.all(workers.flatMap((w) => [w.app.outbox.relay(), w.app.outbox.relay()]));
      await waitFor(async () => (await rowsOf(workers[0]!, `state <> 'DONE'`)).length === 0, 10_000, 100);
      await waitFor(() => heard.size === total, 5_000, 50);
      await sleep(500);

      const calls = spies.flatMap((s) => s.calls).filter((c) => c.name === 'tickets.incident-ticket');
      // Only these rows: the workers' own jobs (a health check's first results) may add others of their own types.
      const ids = (await rowsOf(workers[0]!, `type = 'sla:incident'`)).map((r) => r.id);
      expect(ids).toHaveLength(total);
      expect(calls.map((c) => c.eventId).sort()).toEqual([...ids].sort());
      expect([...heard.values()].every((n) => n === 1)).toBe(true);
      expect([...heard.keys()].sort()).toEqual(notices.map((n) => n.incident.id).sort());
      // Both took part.
      expect(spies.map((s) => s.calls.length).every((n) => n > 0)).toBe(true);
      const others = (await rowsOf(workers[0]!, `type <> 'sla:incident'`)).length;
      expect(outcomes.reduce((n, o) => n + o.delivered, 0)).toBeLessThanOrEqual(total + others);
      const jobs = await workers[0]!.app.jobs.queues.get('tickets')!.getJobCountByTypes('completed', 'waiting', 'active', 'delayed', 'failed');
      expect(jobs).toBe(total);
    } finally {
      for (const s of spies) s.restore();
      subscriber.disconnect();
    }
  });
});
